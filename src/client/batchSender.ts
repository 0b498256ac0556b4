import { promisify } from 'node:util';
import { constants, gzip as gzipCallback } from 'node:zlib';
import { retryDelay, parseRetryAfter, type BackoffPolicy } from './backoff.js';
import { IngestError, type IngestErrorDetail } from './ingestError.js';
import type { PredictionBatch } from './predictionBatch.js';
import { readIngestAnswer, type IngestAnswer } from './rejection.js';

const gzip = promisify(gzipCallback);

/** The server refuses bodies over 32 MiB; a batch whose JSON is larger is split before sending. */
export const MAX_BODY_BYTES = 32 * 1024 * 1024;
/** Below this, gzip's header and the CPU cost outweigh what it saves. */
export const MIN_GZIP_BYTES = 1024;
/**
 * The fastest level: on a 10,000-prediction batch it takes about a third of the default level's time
 * for a body about 10% larger, and the CPU belongs to the serving process the logger lives in.
 */
const GZIP_LEVEL = constants.Z_BEST_SPEED;

/** What the sender needs of the logger's settings. */
export interface SenderConfig {
  endpoint: string;
  server: string;
  token: string;
  headers: Record<string, string>;
  compression: 'gzip' | 'none';
  maxRetries: number;
  backoff: BackoffPolicy;
  requestTimeoutMs: number;
  fetch: typeof fetch;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  random: () => number;
  now: () => number;
}

/** How one batch fares. A batch split for size reports each part on its own. */
export interface DeliveryHooks {
  /** An attempt failed and will be retried after `delayMs`. */
  retrying(error: IngestError, retry: number, delayMs: number): void;
  delivered(batch: PredictionBatch, answer: IngestAnswer): void;
  failed(batch: PredictionBatch, error: IngestError): void;
}

type Attempt = { answer: IngestAnswer } | { error: IngestError; retryAfterMs: number | null };

const HINTS: Record<number, string> = {
  401: 'Check the token (MODELFLEET_TOKEN): it is unknown or revoked.',
  403: 'Use an ingest token, or a member token of the team that owns the models.',
};

/** The innermost cause's words: fetch says only "fetch failed", its cause says "connect ECONNREFUSED". */
function describeNetworkError(error: unknown): string {
  let current: unknown = error;
  let text = error instanceof Error ? error.message : String(error);
  for (let depth = 0; depth < 4 && current instanceof Error && current.cause !== undefined; depth++) {
    current = current.cause;
    if (current instanceof AggregateError && current.errors.length) current = current.errors[0];
    if (current instanceof Error && current.message) text = current.message;
    else if (current instanceof Error && (current as { code?: string }).code) text = (current as { code?: string }).code!;
  }
  return text;
}

/**
 * Sends one batch to `POST /api/v1/events`: a gzipped JSON array of columnar batches with the batch's
 * idempotency key. The body is encoded once, so every retry sends the very same bytes under the same
 * key, which is what lets the server count a retried batch once. Network errors, timeouts, 429 and
 * 5xx are retried with backoff; other 4xx are reported at once; a 413 splits the batch in two.
 */
export class BatchSender {
  constructor(private readonly config: SenderConfig) {}

  /** Delivers `batch` or gives up on it; the outcome is reported through `hooks`, not returned. */
  async deliver(batch: PredictionBatch, hooks: DeliveryHooks, signal: AbortSignal): Promise<void> {
    const json = batch.toJson();
    if (batch.events > 1 && Buffer.byteLength(json) > MAX_BODY_BYTES) return this.deliverHalves(batch, hooks, signal);
    const headers: Record<string, string> = {
      ...this.config.headers,
      accept: 'application/json',
      'content-type': 'application/json',
      authorization: `Bearer ${this.config.token}`,
      'idempotency-key': batch.idempotencyKey,
      'user-agent': 'modelfleet-client',
    };
    let body: Uint8Array | string = json;
    if (this.config.compression === 'gzip' && json.length >= MIN_GZIP_BYTES) {
      body = await gzip(json, { level: GZIP_LEVEL });
      headers['content-encoding'] = 'gzip';
    }

    for (let attempt = 1; ; attempt++) {
      if (signal.aborted) return hooks.failed(batch, closedError(batch, attempt - 1));
      const result = await this.attempt(body, headers, signal);
      if ('answer' in result) return hooks.delivered(batch, result.answer);
      const { error } = result;
      if (error.status === 413 && batch.events > 1) return this.deliverHalves(batch, hooks, signal);
      if (signal.aborted) return hooks.failed(batch, closedError(batch, attempt));
      if (!error.retryable || attempt > this.config.maxRetries) return hooks.failed(batch, error.forBatch(batch.events, batch.idempotencyKey, attempt));
      const delay = retryDelay(attempt, this.config.backoff, result.retryAfterMs, this.config.random);
      hooks.retrying(error, attempt, delay);
      await this.config.sleep(delay, signal);
    }
  }

  private async deliverHalves(batch: PredictionBatch, hooks: DeliveryHooks, signal: AbortSignal): Promise<void> {
    for (const half of batch.split()) await this.deliver(half, hooks, signal);
  }

  /** One request, classified: an answer, or an error that says whether to retry. */
  private async attempt(body: Uint8Array | string, headers: Record<string, string>, signal: AbortSignal): Promise<Attempt> {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.config.requestTimeoutMs);
    const stop = () => controller.abort();
    signal.addEventListener('abort', stop, { once: true });
    let status: number;
    let text: string;
    let responseHeaders: Headers;
    try {
      const response = await this.config.fetch(this.config.endpoint, { method: 'POST', headers, body, signal: controller.signal });
      status = response.status;
      responseHeaders = response.headers;
      text = await response.text();
    } catch (cause) {
      if (timedOut) {
        return { error: new IngestError('timeout', `no answer from ${this.config.server} within ${this.config.requestTimeoutMs} ms`, { retryable: true, cause }), retryAfterMs: null };
      }
      if (signal.aborted) return { error: new IngestError('closed', 'the logger was closed before the server answered', { cause }), retryAfterMs: null };
      return { error: new IngestError('network', `cannot reach ${this.config.server}: ${describeNetworkError(cause)}`, { retryable: true, cause }), retryAfterMs: null };
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', stop);
    }

    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    if (status >= 200 && status < 300) {
      const answer = readIngestAnswer(parsed, responseHeaders.get('idempotent-replayed') === 'true');
      if (answer) return { answer };
      return {
        error: new IngestError('bad_response', `${this.config.endpoint} answered ${status} without an ingest result ({"accepted","rejected","errors"}); is something else listening there? Body: ${text.slice(0, 200)}`, { status }),
        retryAfterMs: null,
      };
    }
    const served = (parsed as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null)?.error;
    const code = typeof served?.code === 'string' ? served.code : undefined;
    const message = typeof served?.message === 'string' ? served.message : text.slice(0, 200) || `HTTP ${status}`;
    const details = Array.isArray(served?.details) ? (served.details as IngestErrorDetail[]) : [];
    const retryable = status === 429 || status >= 500;
    const hint = HINTS[status];
    const said = hint ? `${message}${/[.!?]$/.test(message) ? '' : '.'} ${hint}` : message;
    const error = new IngestError('http', `${status}${code ? ` ${code}` : ''}: ${said}`, {
      status,
      ...(code ? { code } : {}),
      details,
      retryable,
    });
    return { error, retryAfterMs: retryable ? parseRetryAfter(responseHeaders.get('retry-after'), this.config.now()) : null };
  }
}

function closedError(batch: PredictionBatch, attempts: number): IngestError {
  const tried = attempts === 0 ? 'before it was sent' : `after ${attempts} attempt${attempts === 1 ? '' : 's'}`;
  return new IngestError('closed', `${batch.events} predictions not delivered: the logger was closed ${tried} (close() ran out of time)`, {
    events: batch.events,
    idempotencyKey: batch.idempotencyKey,
  });
}
