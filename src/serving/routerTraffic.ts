import { encodeHistogram, latencyHistogram, recordMs, type Histogram } from '../capacity/histogram.js';

/**
 * What the router observed per model, counted in memory in 10-second buckets and written to the
 * store every few seconds: requests, errors and an HDR latency histogram per (model, bucket). Launch
 * gates read error rates and p99 from these rows, sizing reads a type's peak demand.
 *
 * Each write carries a bucket's whole value so far, never an increment, and replaces what the store
 * holds for (model, bucket, router): a write retried after a failure, or repeated while the bucket is
 * still filling, cannot count a request twice.
 */

/** The width of one bucket. */
export const TRAFFIC_BUCKET_MS = 10_000;

/** One bucket as stored: its full value so far. */
export interface RouterTrafficBucket {
  modelId: string;
  modelType: string;
  /** Epoch ms, a multiple of {@link TRAFFIC_BUCKET_MS}. */
  bucketStart: number;
  requests: number;
  errors: number;
  /** The bucket's latencies (microseconds) as an encoded HDR histogram. */
  latency: string;
}

/** Where the buckets go; `src/store/routerTrafficRepository.ts` implements it over the database. */
export interface RouterTrafficStore {
  /** Writes each bucket's value for `router`, replacing any earlier value of the same (model, bucket, router). */
  write(router: string, buckets: readonly RouterTrafficBucket[]): Promise<void>;
  /** Deletes buckets that start before `bucketStart` (all routers). */
  deleteBefore(bucketStart: number): Promise<void>;
}

export interface RouterTrafficOptions {
  /** How often buckets are written. Default 5 s. */
  flushMs: number;
  /** Buckets older than this are deleted from the store, once an hour. Default 8 days (launches read 7). */
  retentionMs: number;
  /** Buckets kept in memory while the store cannot be written; the oldest are dropped past it. */
  maxPendingBuckets: number;
  /** Epoch ms now; tests move it by hand. */
  now: () => number;
  log: (line: string) => void;
}

export const DEFAULT_ROUTER_TRAFFIC_OPTIONS: RouterTrafficOptions = {
  flushMs: 5000,
  retentionMs: 8 * 24 * 3600_000,
  maxPendingBuckets: 100_000,
  now: Date.now,
  log: (line) => process.stderr.write(`${line}\n`),
};

const PRUNE_EVERY_MS = 3600_000;

class Bucket {
  requests = 0;
  errors = 0;
  readonly histogram: Histogram = latencyHistogram();
  /** Changed since its last snapshot for the store. */
  dirty = false;
  constructor(
    readonly modelId: string,
    readonly modelType: string,
    readonly start: number,
  ) {}
}

/** Per-model traffic of one router, kept in memory and flushed to a {@link RouterTrafficStore}. */
export class RouterTraffic {
  private readonly options: RouterTrafficOptions;
  /** The bucket each model is filling now. */
  private readonly current = new Map<string, Bucket>();
  /** Buckets no longer filling, kept until they are written. */
  private closed: Bucket[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private prunedAt = 0;
  private dropped = 0;

  constructor(
    private readonly store: RouterTrafficStore,
    /** This router's id: its rows are its own, so routers never overwrite each other. */
    readonly routerId: string,
    options: Partial<RouterTrafficOptions> = {},
  ) {
    this.options = { ...DEFAULT_ROUTER_TRAFFIC_OPTIONS, ...options };
  }

  /** Counts one answered (or failed) request of `modelId`. Synchronous and allocation-free in the common case. */
  record(modelId: string, modelType: string, latencyMs: number, error: boolean): void {
    const start = this.options.now();
    const bucketStart = start - (start % TRAFFIC_BUCKET_MS);
    let bucket = this.current.get(modelId);
    if (!bucket || bucket.start !== bucketStart) {
      if (bucket) this.closed.push(bucket);
      bucket = new Bucket(modelId, modelType, bucketStart);
      this.current.set(modelId, bucket);
    }
    bucket.requests++;
    if (error) bucket.errors++;
    recordMs(bucket.histogram, latencyMs);
    bucket.dirty = true;
  }

  /** Writes every bucket that changed since the last flush every `flushMs`, until close. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.flush(), this.options.flushMs);
    this.timer.unref();
  }

  /**
   * Writes every bucket that changed since its last write. Concurrent calls share one write; a failed
   * write keeps its buckets for the next flush (up to `maxPendingBuckets`).
   */
  flush(): Promise<void> {
    return (this.flushing ??= this.write().finally(() => {
      this.flushing = null;
    }));
  }

  /** Stops the timer and writes what is left. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flushing;
    await this.flush();
  }

  private async write(): Promise<void> {
    const now = this.options.now();
    // A model that stopped receiving traffic leaves its bucket in `current`: close it once its time has passed.
    for (const [modelId, bucket] of this.current) {
      if (bucket.start + TRAFFIC_BUCKET_MS <= now) {
        this.closed.push(bucket);
        this.current.delete(modelId);
      }
    }
    const due: Bucket[] = [];
    for (const bucket of this.closed) if (bucket.dirty) due.push(bucket);
    for (const bucket of this.current.values()) if (bucket.dirty) due.push(bucket);
    const rows: RouterTrafficBucket[] = due.map((bucket) => {
      bucket.dirty = false;
      return { modelId: bucket.modelId, modelType: bucket.modelType, bucketStart: bucket.start, requests: bucket.requests, errors: bucket.errors, latency: encodeHistogram(bucket.histogram) };
    });
    try {
      if (rows.length) await this.store.write(this.routerId, rows);
    } catch (error) {
      for (const bucket of due) bucket.dirty = true;
      this.options.log(`router: could not write traffic of ${rows.length} buckets (kept for the next try): ${(error as Error).message}`);
      this.bound();
      return;
    }
    // Closed buckets are final once written; a dirty one got records after all (it cannot, but stay safe).
    this.closed = this.closed.filter((bucket) => bucket.dirty);
    if (now - this.prunedAt >= PRUNE_EVERY_MS) {
      this.prunedAt = now;
      try {
        await this.store.deleteBefore(now - this.options.retentionMs);
      } catch (error) {
        this.options.log(`router: could not delete traffic older than the retention: ${(error as Error).message}`);
      }
    }
  }

  private bound(): void {
    const excess = this.closed.length - this.options.maxPendingBuckets;
    if (excess <= 0) return;
    this.closed.splice(0, excess);
    this.dropped += excess;
    this.options.log(`router: dropped the ${excess} oldest unwritten traffic buckets (${this.dropped} in all): the store has been failing`);
  }
}
