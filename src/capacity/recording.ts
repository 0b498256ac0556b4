import { z } from 'zod';
import { invalidInput, type ErrorDetail } from '../core/errors.js';
import { zodDetails } from '../core/zodIssues.js';

/** HTTP methods a recorded request may use. */
export const HttpMethod = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;

const Base64BodySchema = z.strictObject({ base64: z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'base64 bodies use the standard alphabet (A-Z, a-z, 0-9, +, /) with = padding') });

/**
 * One recorded request, a line of a recording: `{"method", "path", "headers"?, "body"?, "ts"?}`.
 * `body` is a JSON value (sent as JSON) or `{"base64": "..."}` (sent as those bytes).
 */
export const RecordedRequestSchema = z
  .object({
    method: z.enum(HttpMethod).default('POST'),
    path: z.string().min(1).max(8192).startsWith('/', 'path starts with / (e.g. /predict); the target URL gives the host'),
    headers: z.record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'header names are HTTP tokens'), z.string().max(8192)).default({}),
    body: z.unknown().optional(),
    ts: z.number().finite().nonnegative().optional().describe('when it was recorded, epoch ms'),
  })
  .strict();
export type RecordedRequestInput = z.input<typeof RecordedRequestSchema>;

/** A request ready to send again: its body already encoded. */
export interface ReplayRequest {
  method: (typeof HttpMethod)[number];
  path: string;
  headers: Record<string, string>;
  body: Buffer | null;
  ts: number | null;
}

/** Bounds on one recording: it is replayed from memory, cyclically. */
export const MAX_RECORDING_REQUESTS = 200_000;
export const MAX_RECORDING_BYTES = 256 * 1024 * 1024;

/** Headers the load generator sets itself; a recorded value would be wrong for the new body or connection. */
const HOP_HEADERS = new Set(['host', 'content-length', 'connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer']);

function toReplay(input: z.output<typeof RecordedRequestSchema>): ReplayRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(input.headers)) if (!HOP_HEADERS.has(name.toLowerCase())) headers[name.toLowerCase()] = value;
  let body: Buffer | null = null;
  if (input.body !== undefined) {
    const b64 = Base64BodySchema.safeParse(input.body);
    if (b64.success) body = Buffer.from(b64.data.base64, 'base64');
    else {
      body = Buffer.from(JSON.stringify(input.body));
      headers['content-type'] ??= 'application/json';
    }
  }
  return { method: input.method, path: input.path, headers, body, ts: input.ts ?? null };
}

export interface RecordingProblem {
  line: number;
  message: string;
}

/**
 * Parses a recording's NDJSON. Every bad line is reported with its number (blank lines are skipped
 * but counted), so a recording is fixed in one pass; `source` names it in messages.
 */
export function parseRecording(text: string, source: string): { requests: ReplayRequest[]; problems: RecordingProblem[] } {
  const requests: ReplayRequest[] = [];
  const problems: RecordingProblem[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.replace(/\r$/, '');
    if (!raw.trim()) continue;
    const line = i + 1;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      problems.push({ line, message: `not valid JSON: ${(error as Error).message}` });
      continue;
    }
    const parsed = RecordedRequestSchema.safeParse(value);
    if (!parsed.success) {
      const details = zodDetails(parsed.error, { schema: RecordedRequestSchema, input: value });
      problems.push({ line, message: details.map((d) => `${d.path}: ${d.message}`).join('; ') });
      continue;
    }
    if (requests.length >= MAX_RECORDING_REQUESTS) {
      problems.push({ line, message: `more than ${MAX_RECORDING_REQUESTS} requests: a recording is replayed cyclically, so a sample of that size is enough` });
      break;
    }
    requests.push(toReplay(parsed.data));
  }
  if (!requests.length && !problems.length) problems.push({ line: 1, message: `${source} holds no requests: record at least one line like {"method": "POST", "path": "/predict", "body": {...}}` });
  return { requests, problems };
}

/** Parses a recording or throws `invalid_input` listing every bad line as `source:line`. */
export function parseRecordingOrThrow(text: string, source: string): ReplayRequest[] {
  const { requests, problems } = parseRecording(text, source);
  if (problems.length) {
    const details: ErrorDetail[] = problems.slice(0, 100).map((p) => ({ path: `${source}:${p.line}`, message: p.message }));
    const more = problems.length > 100 ? ` (and ${problems.length - 100} more)` : '';
    throw invalidInput(`recording ${source} has ${problems.length} bad line${problems.length === 1 ? '' : 's'}${more}: fix them and try again`, details);
  }
  return requests;
}
