import type { IngestError } from './ingestError.js';
import type { Rejection } from './rejection.js';

/** Settings of a {@link PredictionLogger}; only `server` and `token` matter to most callers. */
export interface PredictionLoggerOptions {
  /** Base URL of the modelfleet server, e.g. `http://modelfleet:8080`. Default: `MODELFLEET_SERVER`. */
  server?: string | undefined;
  /** An ingest token, or a member token of the team owning the models. Default: `MODELFLEET_TOKEN`. */
  token?: string | undefined;
  /** A batch is sent once this many predictions are buffered. Default 10,000. */
  maxBatchEvents?: number;
  /**
   * ...or this long after its first prediction, ms; later if every sending slot is still busy then,
   * so a slow server receives fewer, fuller batches. Default 1000.
   */
  flushIntervalMs?: number;
  /**
   * Most predictions held at once (buffered, queued and in flight). Beyond it `log()` drops the new
   * prediction, counts it in `stats().dropped` and returns false. Default 200,000 (about 3.4 MB).
   */
  maxBufferedEvents?: number;
  /** Retries of one batch after network errors, timeouts, 429 and 5xx. Default 5. */
  maxRetries?: number;
  /** Backoff before the first retry, ms; it doubles per retry, with jitter. Default 500. */
  initialBackoffMs?: number;
  /** Longest backoff between retries, ms (a `Retry-After` may ask for more). Default 30,000. */
  maxBackoffMs?: number;
  /**
   * One attempt is abandoned, and retried, after this long without an answer, ms. The server answers
   * a full batch in milliseconds, so a long silence means a lost connection. Default 10,000.
   */
  requestTimeoutMs?: number;
  /** Batches in flight at once. Default 1, which keeps the server's load from one process steady. */
  concurrency?: number;
  /** Body encoding. Default `gzip` (bodies under 1 KiB go uncompressed). */
  compression?: 'gzip' | 'none';
  /**
   * Deliver what is still buffered when the process is about to exit on its own (node's
   * `beforeExit`). `process.exit()` and signals skip it: call `close()` in your shutdown handler.
   * Default true.
   */
  flushOnExit?: boolean;
  /** Extra request headers, e.g. for a proxy in front of the server. */
  headers?: Record<string, string>;
  /**
   * A batch that failed for good (after its retries, or at once for 4xx other than 429), or the
   * start of a run of dropped predictions. Default: a process warning, at most one a minute.
   */
  onError?: (error: IngestError) => void;
  /**
   * Predictions the server refused (unknown model or task, older than the server's lateness bound,
   * stamped in the future, a model of another team), each with the event it refers to. The server
   * itemizes at most 100 per request; `stats().rejected` counts them all. Default: a process
   * warning, at most one a minute.
   */
  onRejected?: (rejections: Rejection[]) => void;
  /** The `fetch` to send with, e.g. one bound to an undici dispatcher. Default: the global one. */
  fetch?: typeof fetch;
  /** Waits between retries; tests pass one that records instead of waiting. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Source of jitter, in [0, 1). Default `Math.random`. */
  random?: () => number;
  /** Clock for default timestamps and `Retry-After` dates, epoch ms. Default `Date.now`. */
  now?: () => number;
}

/** Options with every default filled in and every value checked. */
export interface ResolvedLoggerOptions {
  endpoint: string;
  server: string;
  token: string;
  maxBatchEvents: number;
  flushIntervalMs: number;
  maxBufferedEvents: number;
  maxRetries: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  requestTimeoutMs: number;
  concurrency: number;
  compression: 'gzip' | 'none';
  flushOnExit: boolean;
  headers: Record<string, string>;
  onError: ((error: IngestError) => void) | undefined;
  onRejected: ((rejections: Rejection[]) => void) | undefined;
  fetch: typeof fetch;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  random: () => number;
  now: () => number;
}

export const DEFAULTS = {
  maxBatchEvents: 10_000,
  flushIntervalMs: 1000,
  maxBufferedEvents: 200_000,
  maxRetries: 5,
  initialBackoffMs: 500,
  maxBackoffMs: 30_000,
  requestTimeoutMs: 10_000,
  concurrency: 1,
} as const;

/**
 * The most predictions one batch may hold. At up to about 60 bytes a prediction in JSON, this keeps a
 * batch well under the server's 32 MiB body limit.
 */
export const MAX_BATCH_EVENTS = 250_000;

/** Sleeps `ms`, waking early when `signal` aborts (so `close()` need not wait out a backoff). */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

function integer(options: PredictionLoggerOptions, name: keyof typeof DEFAULTS, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const value = options[name] ?? DEFAULTS[name];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new TypeError(`PredictionLogger: ${name} must be an integer from ${min} to ${max}; got ${String(value)}`);
  }
  return value;
}

/** Fills in defaults and checks every option, throwing a TypeError that names the bad one. */
export function resolveLoggerOptions(options: PredictionLoggerOptions = {}): ResolvedLoggerOptions {
  const env = typeof process === 'undefined' ? {} : process.env;
  const server = options.server ?? env['MODELFLEET_SERVER'];
  if (!server) throw new TypeError("PredictionLogger: server is required: pass { server: 'http://host:8080' } or set MODELFLEET_SERVER");
  let base: URL;
  try {
    base = new URL(server);
  } catch {
    throw new TypeError(`PredictionLogger: server must be an http(s) URL such as 'http://modelfleet:8080'; got ${JSON.stringify(server)}`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new TypeError(`PredictionLogger: server must be an http(s) URL such as 'http://modelfleet:8080'; got ${JSON.stringify(server)}`);
  }
  const token = options.token ?? env['MODELFLEET_TOKEN'];
  if (!token) throw new TypeError('PredictionLogger: token is required: pass { token } (an ingest token) or set MODELFLEET_TOKEN');

  const maxBatchEvents = integer(options, 'maxBatchEvents', 1, MAX_BATCH_EVENTS);
  const maxBufferedEvents = integer(options, 'maxBufferedEvents', 1);
  if (maxBufferedEvents < maxBatchEvents) {
    throw new TypeError(`PredictionLogger: maxBufferedEvents (${maxBufferedEvents}) must be at least maxBatchEvents (${maxBatchEvents}), or no batch could fill up`);
  }
  const initialBackoffMs = integer(options, 'initialBackoffMs', 0);
  const maxBackoffMs = integer(options, 'maxBackoffMs', 0);
  if (maxBackoffMs < initialBackoffMs) throw new TypeError(`PredictionLogger: maxBackoffMs (${maxBackoffMs}) must be at least initialBackoffMs (${initialBackoffMs})`);
  const compression = options.compression ?? 'gzip';
  if (compression !== 'gzip' && compression !== 'none') throw new TypeError(`PredictionLogger: compression must be 'gzip' or 'none'; got ${String(compression)}`);
  const fetchImpl = options.fetch ?? globalThis.fetch;
  if (typeof fetchImpl !== 'function') throw new TypeError('PredictionLogger: no fetch: run on Node 20 or later, or pass { fetch }');

  return {
    endpoint: new URL('api/v1/events', base.href.endsWith('/') ? base.href : `${base.href}/`).href,
    server: base.href.replace(/\/+$/, ''),
    token,
    maxBatchEvents,
    flushIntervalMs: integer(options, 'flushIntervalMs', 1),
    maxBufferedEvents,
    maxRetries: integer(options, 'maxRetries', 0),
    initialBackoffMs,
    maxBackoffMs,
    requestTimeoutMs: integer(options, 'requestTimeoutMs', 1),
    concurrency: integer(options, 'concurrency', 1, 64),
    compression,
    flushOnExit: options.flushOnExit ?? true,
    headers: { ...options.headers },
    onError: options.onError,
    onRejected: options.onRejected,
    fetch: fetchImpl,
    sleep: options.sleep ?? abortableSleep,
    random: options.random ?? Math.random,
    now: options.now ?? Date.now,
  };
}
