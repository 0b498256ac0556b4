import type { LoggedPrediction } from './prediction.js';

/** One prediction the server refused, with the reason and, when the line is known, the event itself. */
export interface Rejection {
  /** The server's reason, e.g. "model 'x:v1' is not registered (or is retired): ...". */
  message: string;
  /** Position of the event in the request, 1-based, as the server numbered it. */
  line: number;
  /** The refused prediction as it was logged (with its caller `id`, if any); null if the line is unknown. */
  prediction: LoggedPrediction | null;
  /** The `Idempotency-Key` of the request, to find it in the server's logs. */
  idempotencyKey: string;
}

/** The server's answer to a delivered batch. */
export interface IngestAnswer {
  accepted: number;
  rejected: number;
  /** The first rejections with their lines (the server reports at most 100 per request). */
  errors: Array<{ line: number; message: string }>;
  /** Whether the server replayed its first answer to this idempotency key (a retried batch). */
  replayed: boolean;
}

/** The ingest answer read from a response body, or null when the body is not one. */
export function readIngestAnswer(body: unknown, replayed: boolean): IngestAnswer | null {
  if (body === null || typeof body !== 'object') return null;
  const { accepted, rejected, errors } = body as { accepted?: unknown; rejected?: unknown; errors?: unknown };
  if (typeof accepted !== 'number' || typeof rejected !== 'number') return null;
  const list = Array.isArray(errors)
    ? errors
        .filter((e): e is { line?: unknown; message?: unknown } => e !== null && typeof e === 'object')
        .map((e) => ({ line: typeof e.line === 'number' ? e.line : 0, message: typeof e.message === 'string' ? e.message : 'rejected' }))
    : [];
  return { accepted, rejected, errors: list, replayed };
}
