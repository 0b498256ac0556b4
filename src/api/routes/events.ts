import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import { z } from 'zod';
import { forbidden, invalidInput, UnavailableError } from '../../core/errors.js';
import type { IngestBody, IngestionService } from '../../stability/ingestion.js';
import type { IngestMetrics } from '../../monitoring/ingestMetrics.js';
import { actorOf } from '../auth.js';
import { parseJsonText, readBody, tooLarge } from '../http.js';
import { named, type ApiRoutes } from '../openapi.js';

const gunzipAsync = promisify(gunzip);

/** Bound on a request body, compressed or not: a serving process sends many small batches, not one huge one. */
export const EVENTS_BODY_LIMIT = 32 * 1024 * 1024;

const IngestAnswerSchema = named(
  z.object({
    accepted: z.number().int().describe('events kept'),
    rejected: z.number().int().describe('events refused; accepted + rejected = events sent'),
    errors: z.array(z.object({ line: z.number().int().describe('1-based line (NDJSON) or event position (columnar)'), message: z.string() })),
    errorsOmitted: z.number().int().optional().describe('rejections beyond the first 100, counted but not listed'),
  }),
  'IngestAnswer',
);

const ColumnarBatchSchema = named(
  z.object({
    model: z.string(),
    task: z.string(),
    p: z.array(z.number()),
    y: z.array(z.union([z.literal(0), z.literal(1)])),
    ts: z.union([z.array(z.union([z.number(), z.string()])), z.number()]),
    w: z.array(z.number()).optional(),
  }),
  'ColumnarBatch',
);

const NDJSON_TYPES = /^(application\/(x-)?ndjson|application\/jsonl|application\/x-jsonlines|text\/plain)\b/i;
const JSON_TYPE = /^application\/json\b/i;

/** Online ingestion of labeled predictions. */
export function registerEventRoutes(routes: ApiRoutes, ingestion: IngestionService, metrics: IngestMetrics): void {
  routes.add(
    {
      method: 'post',
      path: '/events',
      summary:
        'Log labeled predictions: NDJSON (application/x-ndjson) or columnar batches (application/json), optionally gzip. Bad events are rejected one by one with their line; Idempotency-Key makes a retry count once. With an event stream (serve --nats), 503 with Retry-After while the workers are behind or NATS is unreachable; nothing is kept then',
      tag: 'stability',
      mayBeUnavailable: true,
      body: z.union([ColumnarBatchSchema, z.array(ColumnarBatchSchema)]),
      responses: { 200: { description: 'what was kept and what was refused, line by line', schema: IngestAnswerSchema } },
    },
    async (c) => {
      const actor = actorOf(c);
      if (actor.role === 'viewer') throw forbidden(`token '${actor.name}' is a viewer: logging predictions needs an ingest token, or a team member's token for the team's own models`);
      const type = c.req.header('content-type') ?? '';
      const format = NDJSON_TYPES.test(type) ? 'ndjson' : JSON_TYPE.test(type) ? 'columnar' : null;
      if (!format) {
        throw invalidInput(`Content-Type '${type || 'none'}' is not one this endpoint reads: send NDJSON as application/x-ndjson, or columnar batches as application/json`);
      }
      let bytes = await readBody(c, EVENTS_BODY_LIMIT);
      const encoding = (c.req.header('content-encoding') ?? 'identity').trim().toLowerCase();
      if (encoding === 'gzip') bytes = await gunzipBounded(bytes);
      else if (encoding !== 'identity') throw invalidInput(`Content-Encoding '${encoding}' is not supported: send gzip or no encoding`);
      // A byte-order mark some editors write would otherwise make line 1 malformed.
      const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
      const body: IngestBody = format === 'ndjson' ? { format, text, bytes } : { format, value: parseJsonText(text), bytes };
      let result;
      try {
        result = await ingestion.ingest(actor, body, c.req.header('idempotency-key') ?? null);
      } catch (error) {
        // Set here, kept on the error answer: the client's backoff honours it.
        if (error instanceof UnavailableError) c.header('Retry-After', String(error.retryAfterSeconds));
        throw error;
      }
      metrics.record(format, result);
      if (result.replayed) c.header('Idempotent-Replayed', 'true');
      return c.json(result.answer);
    },
  );
}

async function gunzipBounded(bytes: Buffer): Promise<Buffer> {
  try {
    return await gunzipAsync(bytes, { maxOutputLength: EVENTS_BODY_LIMIT });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(EVENTS_BODY_LIMIT);
    throw invalidInput(`the body is marked Content-Encoding: gzip but does not decompress: ${(error as Error).message}`);
  }
}
