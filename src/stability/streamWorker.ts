import { hourlyRollup } from './hourlyRollup.js';
import type { Logger } from 'pino';
import type { Clock } from '../registry/registryService.js';
import type { BucketRow, StabilityStore } from './stabilityStore.js';
import { decodeStreamMessage, type StreamMessage } from './streamMessage.js';

/** One message as a worker sees it, whatever carries it. */
export interface SourcedMessage {
  /** Its position in the stream: a redelivery of the message has the same one. */
  seq: number;
  data: Uint8Array;
  /** Messages waiting in the stream behind this one, when the source knows (for the lag report). */
  backlog: number | null;
  /** Done with: the stream may forget it. */
  ack(): void;
  /** Never to be delivered again: it cannot be decoded, and another try would fail the same way. */
  term(): void;
}

/** Where a worker's messages come from: a share of a stream that several workers consume together. */
export interface MessageSource {
  /**
   * Names the stream the sequences count in, for the consumed-message records: the same across
   * restarts, and different for a stream deleted and created again (its sequences start over).
   */
  readonly stream: string;
  /** Up to `max` messages, returning early with what has arrived (maybe none) after `waitMs`. */
  fetch(max: number, waitMs: number): Promise<SourcedMessage[]>;
  /** Takes no more messages; those already fetched can still be acknowledged. */
  stop(): Promise<void>;
}

export interface StreamWorkerOptions {
  /** Messages per transaction at most. */
  batch: number;
  /** A batch is flushed when full or when this long has passed since the fetch began. */
  flushMs: number;
  /** First wait after a failed flush; doubles up to `maxRetryMs`. */
  retryMs: number;
  maxRetryMs: number;
  /** How often progress is logged (0: never). */
  progressMs: number;
  /** After `stop()`, how long a failing flush is retried before its messages are left for redelivery. */
  stopTimeoutMs: number;
}

export const DEFAULT_STREAM_WORKER_OPTIONS: StreamWorkerOptions = { batch: 500, flushMs: 200, retryMs: 250, maxRetryMs: 5_000, progressMs: 5_000, stopTimeoutMs: 15_000 };

/** Running totals of one worker. */
export interface StreamWorkerStats {
  /** Messages whose sums this worker added. */
  messages: number;
  /** Labeled predictions in those messages. */
  events: number;
  /** Messages delivered again after their sums were stored (by this worker or another): dropped. */
  duplicates: number;
  /** Messages that did not decode: terminated, never redelivered. */
  undecodable: number;
  /** Transactions committed. */
  batches: number;
  /** Flush attempts that failed and were retried. */
  failedFlushes: number;
  /** From the API server accepting the newest message of the last batch to its commit here. */
  lagMs: number | null;
  /** Messages waiting in the stream after the last batch, when the source says. */
  backlog: number | null;
}

/**
 * Consumes event-stream messages into the stability buckets. Each batch is decoded, every message's
 * minute sums rolled up per hour (as in-process ingestion does), and the batch written in one
 * transaction that also records the messages' sequences; only after it commits are the messages
 * acknowledged. A crash before the commit leaves them unacknowledged (redelivered, counted then); a
 * crash after it, before the acknowledgements, makes them come back already recorded (dropped).
 */
export class StreamWorker {
  private readonly options: StreamWorkerOptions;
  private readonly totals: StreamWorkerStats = { messages: 0, events: 0, duplicates: 0, undecodable: 0, batches: 0, failedFlushes: 0, lagMs: null, backlog: null };
  private running: Promise<void> | null = null;
  private stoppedAt: number | null = null;
  private lastFlushFailed = false;
  /** Messages given up on while stopping (the store unreachable): left for the stream to deliver again. */
  private abandoned = 0;

  constructor(
    private readonly source: MessageSource,
    private readonly store: Pick<StabilityStore, 'applyStreamBatch'>,
    private readonly clock: Clock,
    private readonly logger: Logger,
    options: Partial<StreamWorkerOptions> = {},
  ) {
    this.options = { ...DEFAULT_STREAM_WORKER_OPTIONS, ...options };
    if (!Number.isInteger(this.options.batch) || this.options.batch < 1) throw new RangeError(`batch must be a whole number of messages >= 1, got ${this.options.batch}`);
    if (!(this.options.flushMs > 0)) throw new RangeError(`flushMs must be > 0, got ${this.options.flushMs}`);
  }

  /** Consumes until `stop()`; the promise settles once the last batch is stored and acknowledged. */
  start(): Promise<void> {
    return (this.running ??= this.loop());
  }

  /**
   * Stops taking messages, stores and acknowledges what was fetched, and resolves. True when all of it
   * was stored; false when the store stayed unreachable for `stopTimeoutMs` (those messages are left
   * unacknowledged, and the stream delivers them again, to this worker's successor or another).
   */
  async stop(): Promise<boolean> {
    this.stoppedAt ??= Date.now();
    await this.source.stop();
    await this.running;
    return this.abandoned === 0;
  }

  stats(): StreamWorkerStats {
    return { ...this.totals };
  }

  private async loop(): Promise<void> {
    const progress = this.options.progressMs > 0 ? this.progressTimer() : null;
    try {
      for (;;) {
        let messages: SourcedMessage[];
        try {
          messages = await this.source.fetch(this.options.batch, this.options.flushMs);
        } catch (error) {
          // The source reconnects on its own; fetching again after a pause is all there is to do.
          this.logger.warn({ err: (error as Error).message }, 'fetching stream messages failed; trying again');
          if (this.stoppedAt !== null) break;
          await new Promise((resolve) => setTimeout(resolve, this.options.retryMs));
          continue;
        }
        if (messages.length) await this.process(messages);
        else if (this.stoppedAt !== null) break;
      }
    } finally {
      if (progress) clearInterval(progress);
    }
  }

  private async process(messages: SourcedMessage[]): Promise<void> {
    const decoded: Array<{ source: SourcedMessage; message: StreamMessage }> = [];
    for (const source of messages) {
      try {
        decoded.push({ source, message: decodeStreamMessage(source.data) });
      } catch (error) {
        this.totals.undecodable += 1;
        this.logger.error({ seq: source.seq, bytes: source.data.length, err: (error as Error).message.slice(0, 500) }, 'stream message is not a modelfleet event message: terminated, it will not be delivered again');
        source.term();
      }
    }
    if (!decoded.length) return;
    const write = {
      stream: this.source.stream,
      messages: decoded.map((d) => ({ seq: d.source.seq, minuteBuckets: d.message.minuteBuckets, hourBuckets: hourlyRollup(d.message.minuteBuckets) })),
    };
    const newSeqs = await this.flush(write);
    if (newSeqs === null) return;
    // Only now, with the sums committed: every message of the batch, the duplicates too, so none comes back.
    for (const d of decoded) d.source.ack();
    const fresh = new Set(newSeqs);
    const now = this.clock.now().getTime();
    this.totals.batches += 1;
    this.totals.messages += fresh.size;
    this.totals.duplicates += decoded.length - fresh.size;
    for (const d of decoded) if (fresh.delete(d.source.seq)) this.totals.events += d.message.events;
    this.totals.lagMs = now - Math.max(...decoded.map((d) => d.message.acceptedAt));
    this.totals.backlog = messages.at(-1)!.backlog;
  }

  /** Writes the batch, retrying until it commits; null when stopping and the store stays unreachable. */
  private async flush(write: { stream: string; messages: Array<{ seq: number; minuteBuckets: BucketRow[]; hourBuckets: BucketRow[] }> }): Promise<number[] | null> {
    let wait = this.options.retryMs;
    for (;;) {
      try {
        const { newSeqs } = await this.store.applyStreamBatch({ ...write, consumedAt: this.clock.now().getTime() });
        if (this.lastFlushFailed) this.logger.info({ messages: write.messages.length }, 'stream batch stored after retrying');
        this.lastFlushFailed = false;
        return newSeqs;
      } catch (error) {
        this.totals.failedFlushes += 1;
        this.lastFlushFailed = true;
        if (this.stoppedAt !== null && Date.now() - this.stoppedAt >= this.options.stopTimeoutMs) {
          this.logger.error({ messages: write.messages.length, err: (error as Error).message }, 'stopping with a batch not stored: its messages stay unacknowledged and will be delivered again');
          this.abandoned += write.messages.length;
          return null;
        }
        // Unacknowledged meanwhile: if this takes longer than the stream's ack wait, another worker may
        // get the same messages, and whichever commits second finds them recorded and drops them.
        this.logger.warn({ messages: write.messages.length, retryInMs: wait, err: (error as Error).message }, 'storing a stream batch failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, wait));
        wait = Math.min(wait * 2, this.options.maxRetryMs);
      }
    }
  }

  private progressTimer(): NodeJS.Timeout {
    let last = { at: Date.now(), messages: 0, events: 0 };
    const timer = setInterval(() => {
      const at = Date.now();
      const { messages, events } = this.totals;
      const seconds = (at - last.at) / 1000;
      this.logger.info(
        {
          messagesPerSecond: Math.round((messages - last.messages) / seconds),
          eventsPerSecond: Math.round((events - last.events) / seconds),
          lagMs: this.totals.lagMs,
          backlog: this.totals.backlog,
          messages,
          events,
          duplicates: this.totals.duplicates,
          undecodable: this.totals.undecodable,
          failedFlushes: this.totals.failedFlushes,
        },
        'stream worker progress',
      );
      last = { at, messages, events };
    }, this.options.progressMs);
    timer.unref();
    return timer;
  }
}

