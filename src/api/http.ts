import type { Context } from 'hono';
import type { z } from 'zod';
import { invalidInput, payloadTooLarge, preconditionFailed, preconditionRequired } from '../core/errors.js';
import { parseOrThrow } from '../core/zodIssues.js';

/** Default bound on request bodies; the config apply endpoint takes a larger, still bounded, one. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;
export const APPLY_BODY_LIMIT = 64 * 1024 * 1024;

/** Reads a JSON body within `limit` bytes, with errors that say where the JSON broke. */
export async function readJson(c: Context, limit = DEFAULT_BODY_LIMIT): Promise<unknown> {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/([a-z.+-]*\+)?json\b/i.test(type)) {
    throw invalidInput(`send the body as JSON with Content-Type: application/json (got '${type || 'none'}')`);
  }
  return parseJsonText((await readBody(c, limit)).toString('utf8'));
}

/** Parses a JSON document, or says where it broke. */
export function parseJsonText(text: string): unknown {
  if (!text.trim()) throw invalidInput('the request body is empty; send a JSON document');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw invalidInput(`the body is not valid JSON: ${(error as Error).message}`, [{ path: '(body)', message: (error as Error).message }]);
  }
}

/** Reads the raw body, refusing (413) as soon as it passes `limit` bytes rather than after buffering it all. */
export async function readBody(c: Context, limit: number): Promise<Buffer> {
  const declared = Number(c.req.header('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  const reader = c.req.raw.body?.getReader();
  if (!reader) throw invalidInput('the request has no body');
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw tooLarge(limit);
    }
    parts.push(value);
  }
  return Buffer.concat(parts);
}

export function tooLarge(limit: number) {
  return payloadTooLarge(`the body is larger than ${limit} bytes; split it into smaller requests`);
}

export const etagOf = (version: number) => `"${version}"`;

/** The version an `If-Match` header names; `required` writes answer 428 without one. */
export function ifMatch(c: Context, required: boolean): number | undefined {
  const header = c.req.header('if-match');
  if (!header) {
    if (required) throw preconditionRequired('this write needs If-Match with the ETag you last read (e.g. If-Match: "3"), so it cannot overwrite a newer change');
    return undefined;
  }
  const match = /^\s*(?:W\/)?"?(\d+)"?\s*$/.exec(header);
  if (!match) throw preconditionFailed(`If-Match '${header}' is not an ETag this server issued; read the entry and use its ETag`);
  return Number(match[1]);
}

/** Why a change was made, from `X-Change-Reason`; recorded in the history. */
export function changeReason(c: Context): string | null {
  const reason = c.req.header('x-change-reason');
  return reason ? decodeURIComponent(reason).slice(0, 2000) : null;
}

export function parseQuery<S extends z.ZodType>(c: Context, schema: S): z.output<S> {
  return parseOrThrow(schema, c.req.query(), 'query');
}
