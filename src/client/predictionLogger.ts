import { BatchSender, type DeliveryHooks } from './batchSender.js';
import { flushBeforeExit } from './exitFlush.js';
import { IngestError } from './ingestError.js';
import { resolveLoggerOptions, type PredictionLoggerOptions, type ResolvedLoggerOptions } from './loggerOptions.js';
import { checkId, checkLabel, checkModel, checkProbability, checkTask, checkTimestamp, checkWeight, predictionError, type Prediction } from './prediction.js';
import type { PredictionBatch } from './predictionBatch.js';
import { PredictionBuffer } from './predictionBuffer.js';
import type { IngestAnswer, Rejection } from './rejection.js';

/** Counters since the logger was created, for a health endpoint or a metrics exporter. */
export interface PredictionLoggerStats {
  /** Predictions held now: logged and not yet delivered or given up (open batch, queued, in flight). */
  buffered: number;
  /** Predictions the server answered for (accepted + rejected). */
  sent: number;
  /** Predictions the server counted. */
  accepted: number;
  /** Predictions the server refused (see `onRejected`). */
  rejected: number;
  /** Predictions `log()` dropped because `maxBufferedEvents` were held (or the logger was closed). */
  dropped: number;
  /** Attempts repeated after a network error, timeout, 429 or 5xx. */
  retries: number;
  /** Requests the server answered. */
  batches: number;
  /** Batches given up: a non-retryable error, or retries exhausted. */
  failedBatches: number;
  /** Predictions in those batches. */
  failedEvents: number;
  /** The latest error, including ones that were then retried successfully; null if none yet. */
  lastError: IngestError | null;
}

/** What became of the predictions a `flush()` or `close()` waited for. */
export interface FlushResult {
  accepted: number;
  rejected: number;
  /** Predictions in batches given up. */
  failed: number;
  /** Predictions still undelivered when `timeoutMs` ran out (0 without a timeout). */
  pending: number;
}

/** A sealed batch the logger still answers for. */
interface PendingBatch {
  batch: PredictionBatch;
  remaining: number;
  accepted: number;
  rejected: number;
  failed: number;
  done: Promise<void>;
  settle: () => void;
}

/** One warning a minute at most, so a dead server does not flood the log of the process it serves. */
const WARN_INTERVAL_MS = 60_000;

/**
 * Logs labeled predictions from a serving process to modelfleet's `POST /api/v1/events`:
 *
 * ```ts
 * const log = new PredictionLogger({ server: 'http://modelfleet:8080', token: process.env.MODELFLEET_TOKEN });
 * log.log({ model: 'ig_stories_tray_mtml:v42', task: 'PLIKE', p: 0.031, y: 0 });
 * ```
 *
 * `log()` is synchronous and cheap: it checks the prediction (throwing a TypeError that names a bad
 * field, so a caller's bug shows at once rather than as server-side rejections) and appends it to a
 * columnar buffer per (model, task). A batch goes out when `maxBatchEvents` are buffered or
 * `flushIntervalMs` after its first prediction, gzipped, with an idempotency key kept across its
 * retries so a retried batch counts once. Memory is bounded by `maxBufferedEvents`: past it new
 * predictions are dropped and counted, never the ones already batched (see `log`).
 *
 * Create one per process and share it: each holds its own buffer, timer and connection.
 */
export class PredictionLogger {
  private readonly options: ResolvedLoggerOptions;
  private readonly sender: BatchSender;
  private readonly buffer: PredictionBuffer;
  private readonly queue: PendingBatch[] = [];
  private readonly pending = new Set<PendingBatch>();
  private readonly closing = new AbortController();
  private readonly counters: Omit<PredictionLoggerStats, 'buffered' | 'lastError'> = {
    sent: 0,
    accepted: 0,
    rejected: 0,
    dropped: 0,
    retries: 0,
    batches: 0,
    failedBatches: 0,
    failedEvents: 0,
  };
  private buffered = 0;
  private lastError: IngestError | null = null;
  private inFlight = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** The interval passed while every sending slot was busy: seal as soon as one frees. */
  private sealWhenFree = false;
  /** Inside a run of drops, reported once at its start. */
  private dropping = false;
  private closed = false;
  private readonly stopExitFlush: (() => void) | null;
  private lastWarning = Number.NEGATIVE_INFINITY;
  private warningsHeld = 0;

  /** Throws a TypeError naming the option when one is missing or out of range. */
  constructor(options: PredictionLoggerOptions = {}) {
    this.options = resolveLoggerOptions(options);
    const o = this.options;
    this.sender = new BatchSender({
      endpoint: o.endpoint,
      server: o.server,
      token: o.token,
      headers: o.headers,
      compression: o.compression,
      maxRetries: o.maxRetries,
      backoff: { initialMs: o.initialBackoffMs, maxMs: o.maxBackoffMs },
      requestTimeoutMs: o.requestTimeoutMs,
      fetch: o.fetch,
      sleep: o.sleep,
      random: o.random,
      now: o.now,
    });
    this.buffer = new PredictionBuffer(o.maxBatchEvents);
    this.stopExitFlush = o.flushOnExit ? flushBeforeExit(() => this.buffer.length > 0 && void this.flush()) : null;
  }

  /**
   * Buffers one labeled prediction. Returns true when buffered, false when dropped: `maxBufferedEvents`
   * are already held (the server is down or slower than the traffic), or the logger is closed.
   *
   * Dropping the newest rather than the oldest is deliberate (OpenTelemetry's batch processor does
   * the same): the oldest sit in sealed batches that may already have reached the server under their
   * idempotency key, and cutting them would take a new body and key, so a batch that had in fact
   * landed would count twice. Each run of drops is reported once to `onError` (kind `buffer_full`).
   *
   * @throws TypeError naming the field when the prediction is malformed: p outside [0, 1] or not a
   *   number, y not 0/1, ts not finite epoch ms, w not > 0, model or task empty or badly formed.
   */
  log(prediction: Prediction): boolean {
    if (prediction === null || typeof prediction !== 'object') throw predictionError('the prediction', 'must be an object { model, task, p, y, ts?, w?, id? }', prediction);
    const p = checkProbability(prediction.p);
    const y = checkLabel(prediction.y);
    const ts = prediction.ts === undefined ? this.options.now() : checkTimestamp(prediction.ts, 0);
    const w = checkWeight(prediction.w);
    const id = checkId(prediction.id);
    if (this.closed || this.buffered >= this.options.maxBufferedEvents) {
      checkModel(prediction.model);
      checkTask(prediction.task);
      this.drop();
      return false;
    }
    this.buffer.group(prediction.model, prediction.task).push(p, y, ts, w, id);
    this.buffer.added();
    this.buffered += 1;
    this.dropping = false;
    if (this.buffer.length >= this.options.maxBatchEvents) this.seal();
    else if (this.buffer.length === 1) this.armTimer();
    return true;
  }

  /**
   * Sends everything buffered and resolves once each of those predictions is delivered or given up
   * (after its retries). Never rejects: what failed is in the result, `stats()` and `onError`.
   *
   * @param options.timeoutMs resolve after this long even if batches are still retrying; they carry
   *   on, and the result counts them as `pending`.
   */
  async flush(options: { timeoutMs?: number } = {}): Promise<FlushResult> {
    this.seal();
    const waiting = [...this.pending];
    await this.settled(waiting, options.timeoutMs);
    return summarize(waiting);
  }

  /**
   * Stops the timer, sends what is buffered and waits for it like `flush()`. With `timeoutMs`, batches
   * still undelivered when it runs out are abandoned (in-flight requests aborted, counted as failed,
   * kind `closed`). `log()` after `close()` drops. Calling it again is harmless.
   */
  async close(options: { timeoutMs?: number } = {}): Promise<FlushResult> {
    if (!this.closed) {
      this.closed = true;
      this.stopExitFlush?.();
    }
    this.seal();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const waiting = [...this.pending];
    const inTime = await this.settled(waiting, options.timeoutMs);
    if (!inTime) {
      this.closing.abort();
      await this.settled(waiting, undefined);
    }
    return summarize(waiting);
  }

  /** A snapshot of the counters. */
  stats(): PredictionLoggerStats {
    return { buffered: this.buffered, ...this.counters, lastError: this.lastError };
  }

  /** Seals the open batch (if any) and starts sending it when a slot is free. */
  private seal(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.sealWhenFree = false;
    const batch = this.buffer.seal();
    if (batch) {
      let settle!: () => void;
      const done = new Promise<void>((resolve) => (settle = resolve));
      const entry: PendingBatch = { batch, remaining: batch.events, accepted: 0, rejected: 0, failed: 0, done, settle };
      this.pending.add(entry);
      this.queue.push(entry);
    }
    this.pump();
  }

  private armTimer(): void {
    // unref: a logger alone must never keep a process alive; flushOnExit delivers the rest.
    this.timer = setTimeout(() => {
      this.timer = null;
      // While every slot is busy the open batch keeps filling, so an outage yields a few full
      // batches instead of a queue of small ones.
      if (this.inFlight < this.options.concurrency && this.queue.length === 0) this.seal();
      else this.sealWhenFree = true;
    }, this.options.flushIntervalMs);
    this.timer.unref();
  }

  private pump(): void {
    while (this.inFlight < this.options.concurrency && this.queue.length > 0) {
      const entry = this.queue.shift()!;
      this.inFlight += 1;
      const hooks = this.hooksFor(entry);
      this.sender
        .deliver(entry.batch, hooks, this.closing.signal)
        .catch((cause: unknown) => {
          if (entry.remaining > 0) hooks.failed(entry.batch, new IngestError('internal', `modelfleet client fault while sending: ${String(cause)}`, { cause, events: entry.remaining, idempotencyKey: entry.batch.idempotencyKey }));
        })
        .finally(() => {
          this.inFlight -= 1;
          this.pending.delete(entry);
          entry.settle();
          if (this.sealWhenFree && this.queue.length === 0) this.seal();
          else this.pump();
        });
    }
  }

  private hooksFor(entry: PendingBatch): DeliveryHooks {
    return {
      retrying: (error) => {
        this.counters.retries += 1;
        this.lastError = error;
      },
      delivered: (batch, answer) => {
        this.settleEvents(entry, batch.events);
        this.counters.sent += batch.events;
        this.counters.batches += 1;
        this.counters.accepted += answer.accepted;
        this.counters.rejected += answer.rejected;
        entry.accepted += answer.accepted;
        entry.rejected += answer.rejected;
        if (answer.rejected > 0) this.reportRejections(batch, answer);
      },
      failed: (batch, error) => {
        const events = Math.min(batch.events, entry.remaining);
        this.settleEvents(entry, events);
        this.counters.failedBatches += 1;
        this.counters.failedEvents += events;
        entry.failed += events;
        this.lastError = error;
        this.reportError(error);
      },
    };
  }

  private settleEvents(entry: PendingBatch, events: number): void {
    entry.remaining -= events;
    this.buffered -= events;
  }

  private drop(): void {
    this.counters.dropped += 1;
    if (this.dropping) return;
    this.dropping = true;
    const error = this.closed
      ? new IngestError('closed', 'prediction dropped: log() was called after close()', { events: 1 })
      : new IngestError(
          'buffer_full',
          `dropping new predictions: ${this.options.maxBufferedEvents} are already waiting to be delivered to ${this.options.server}` +
            `${this.lastError ? ` (last error: ${this.lastError.message})` : ''}; raise maxBufferedEvents if this is a burst, not an outage`,
          { events: this.counters.dropped },
        );
    this.lastError = error;
    this.reportError(error);
  }

  private reportRejections(batch: PredictionBatch, answer: IngestAnswer): void {
    const rejections: Rejection[] = answer.errors.map((e) => ({ message: e.message, line: e.line, prediction: batch.eventAt(e.line), idempotencyKey: batch.idempotencyKey }));
    const handler = this.options.onRejected;
    if (handler) return this.callBack(() => handler(rejections));
    const first = rejections[0];
    this.warn(`${answer.rejected} of ${batch.events} predictions rejected by ${this.options.server}${first ? `, e.g. ${first.message}` : ''} (pass onRejected to see each)`);
  }

  private reportError(error: IngestError): void {
    const handler = this.options.onError;
    if (handler) return this.callBack(() => handler(error));
    this.warn(error.message);
  }

  /** Callbacks run outside `log()` and the send loop, so a throwing one breaks neither. */
  private callBack(call: () => void): void {
    queueMicrotask(() => {
      try {
        call();
      } catch (error) {
        process.emitWarning(`modelfleet PredictionLogger: a callback threw: ${String(error)}`, { code: 'MODELFLEET_CLIENT' });
      }
    });
  }

  private warn(message: string): void {
    const now = Date.now();
    if (now - this.lastWarning < WARN_INTERVAL_MS) {
      this.warningsHeld += 1;
      return;
    }
    const held = this.warningsHeld ? ` (${this.warningsHeld} similar warnings in the last minute not shown; see stats())` : '';
    this.lastWarning = now;
    this.warningsHeld = 0;
    process.emitWarning(`modelfleet PredictionLogger: ${message}${held}`, { code: 'MODELFLEET_CLIENT' });
  }

  /** Whether every entry settled, waiting at most `timeoutMs` when given. */
  private async settled(entries: PendingBatch[], timeoutMs: number | undefined): Promise<boolean> {
    const all = Promise.all(entries.map((e) => e.done)).then(() => true);
    if (timeoutMs === undefined || entries.length === 0) return all;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    try {
      return await Promise.race([all, late]);
    } finally {
      clearTimeout(timer);
    }
  }
}

function summarize(entries: PendingBatch[]): FlushResult {
  const result: FlushResult = { accepted: 0, rejected: 0, failed: 0, pending: 0 };
  for (const e of entries) {
    result.accepted += e.accepted;
    result.rejected += e.rejected;
    result.failed += e.failed;
    result.pending += e.remaining;
  }
  return result;
}
