/**
 * What went wrong, as a closed list, so a handler can `switch` on it:
 * - `http`: the server answered with an error status (`status`, `code`, `details` say which);
 * - `network`: no answer (connection refused or reset, DNS);
 * - `timeout`: no answer within `requestTimeoutMs`;
 * - `bad_response`: a success status whose body is not the ingest answer (a proxy in the way?);
 * - `buffer_full`: `maxBufferedEvents` reached, new predictions are being dropped;
 * - `closed`: `log()` after `close()`, or batches given up when `close()` ran out of time;
 * - `internal`: a fault in the client itself (the `cause` says which); the batch is given up.
 */
export const IngestErrorKind = ['http', 'network', 'timeout', 'bad_response', 'buffer_full', 'closed', 'internal'] as const;
export type IngestErrorKind = (typeof IngestErrorKind)[number];

/** One problem the server named, as in its `{"error": {"details": [...]}}`. */
export interface IngestErrorDetail {
  path: string;
  message: string;
}

/** Why predictions were not delivered. Passed to `onError` and kept as `stats().lastError`. */
export class IngestError extends Error {
  override readonly name = 'IngestError';
  readonly kind: IngestErrorKind;
  /** HTTP status for `http`, else null. */
  readonly status: number | null;
  /** The server's error code (`unauthorized`, `forbidden`, `invalid_input`, ...), else null. */
  readonly code: string | null;
  readonly details: IngestErrorDetail[];
  /** Whether another attempt could succeed: network errors, timeouts, 429 and 5xx. */
  readonly retryable: boolean;
  /** Predictions this error is about: a failed batch's size, or the drops so far for `buffer_full`. */
  readonly events: number;
  /** The failed batch's `Idempotency-Key`, to find it in the server's logs; null when no batch. */
  readonly idempotencyKey: string | null;

  constructor(
    kind: IngestErrorKind,
    message: string,
    fields: { status?: number; code?: string; details?: IngestErrorDetail[]; retryable?: boolean; events?: number; idempotencyKey?: string; cause?: unknown } = {},
  ) {
    super(message, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.kind = kind;
    this.status = fields.status ?? null;
    this.code = fields.code ?? null;
    this.details = fields.details ?? [];
    this.retryable = fields.retryable ?? false;
    this.events = fields.events ?? 0;
    this.idempotencyKey = fields.idempotencyKey ?? null;
  }

  /** The same error about a whole batch that finally failed. */
  forBatch(events: number, idempotencyKey: string, attempts: number): IngestError {
    const tries = attempts === 1 ? '1 attempt' : `${attempts} attempts`;
    return new IngestError(this.kind, `${events} predictions not delivered after ${tries}: ${this.message}`, {
      ...(this.status !== null ? { status: this.status } : {}),
      ...(this.code !== null ? { code: this.code } : {}),
      details: this.details,
      retryable: this.retryable,
      events,
      idempotencyKey,
      cause: this.cause,
    });
  }
}
