import type { AccumulatorSnapshot } from './accumulator.js';
import type { ModelEvaluation, ModelStatus } from './evaluation.js';

/** Bucket sizes kept: per-minute buckets for evaluation, hourly rollups for learning and history. */
export const Resolution = { minute: 1, hour: 60 } as const;
export type Resolution = (typeof Resolution)[keyof typeof Resolution];

/** The sums of one (model, task) over some span, as stored. */
export interface BucketRow {
  modelId: string;
  task: string;
  /** Epoch ms of the bucket's start (for a window sum: of the window's start). */
  start: number;
  sums: AccumulatorSnapshot;
}

/** A request's aggregates, to add to the stored buckets in one transaction with its idempotency record. */
export interface IngestWrite {
  minuteBuckets: BucketRow[];
  hourBuckets: BucketRow[];
  idempotency: { actor: string; key: string; bodyHash: string; response: string; receivedAt: number } | null;
  /**
   * Runs inside the transaction once the key is claimed and the sums are written, before the commit;
   * if it throws, nothing is kept (the key stays free for a retry). Ingestion through the event stream
   * publishes here, so a key is claimed only for a request the stream has taken. Not run on a replay.
   */
  beforeCommit?: () => Promise<void>;
}

export type IngestWriteResult = { outcome: 'written' } | { outcome: 'replayed'; response: string } | { outcome: 'key_reused'; bodyHash: string };

/** Event-stream messages to add to the stored buckets in one transaction that records them consumed. */
export interface StreamBatchWrite {
  /** Names the stream the sequences belong to (see `MessageSource.stream`). */
  stream: string;
  /** Epoch ms, recorded with each sequence; retention prunes by it. */
  consumedAt: number;
  /** Each message's own sums: only those of messages not consumed before are added. */
  messages: ReadonlyArray<{ seq: number; minuteBuckets: readonly BucketRow[]; hourBuckets: readonly BucketRow[] }>;
}

export interface StreamBatchResult {
  /** Sequences recorded by this call, ascending: their sums were added. The others were consumed before. */
  newSeqs: number[];
}

/** Minute counts of a model's verdicts over a span: the SLI's numerator and denominator. */
export interface StatusCounts {
  stable: number;
  unstable: number;
  insufficient: number;
}

export interface StoredEvaluation {
  modelId: string;
  minute: number;
  status: ModelStatus;
  evaluation: ModelEvaluation;
}

export interface RetentionPolicy {
  minuteBucketsMs: number;
  hourBucketsMs: number;
  minuteEvaluationsMs: number;
  hourEvaluationsMs: number;
  idempotencyKeysMs: number;
  resolvedAlertsMs: number;
}

/** The stability engine's port to storage. */
export interface StabilityStore {
  /** Adds the sums atomically; with an idempotency key already used, writes nothing and says so. */
  ingest(write: IngestWrite): Promise<IngestWriteResult>;
  /**
   * Records the messages' sequences as consumed and adds the sums of those not consumed before, all in
   * one transaction: a message redelivered after its commit adds nothing. Safe for concurrent workers.
   */
  applyStreamBatch(write: StreamBatchWrite): Promise<StreamBatchResult>;
  /** Sums per (model, task) of minute buckets in [from, to). */
  windowSums(from: number, to: number, modelIds?: readonly string[]): Promise<BucketRow[]>;
  /** Buckets of one model at a resolution in [from, to), ordered by start. */
  buckets(modelId: string, resolution: Resolution, from: number, to: number): Promise<BucketRow[]>;
  /** Stores evaluations of one minute and adds them to the hourly verdict counts. Re-running a minute replaces it. */
  writeEvaluations(minute: number, evaluations: readonly ModelEvaluation[]): Promise<void>;
  evaluations(modelId: string, from: number, to: number): Promise<StoredEvaluation[]>;
  /** Every model's most recent evaluation at or before `at`. */
  latestEvaluations(at: number): Promise<StoredEvaluation[]>;
  /** The minute of the most recent evaluation at or before `at` (null before the first): one index lookup. */
  latestEvaluatedMinute(at: number): Promise<number | null>;
  /** Per model, verdict counts of minutes in [from, to) from the minute evaluations. */
  minuteCounts(from: number, to: number): Promise<Map<string, StatusCounts>>;
  /** Per model, verdict counts of whole hours in [from, to) from the hourly rollup. */
  hourCounts(from: number, to: number): Promise<Map<string, StatusCounts>>;
  /** Per model and hour, verdict counts (for learning: which hours were unstable). */
  hourlyCountsOf(modelId: string, from: number, to: number): Promise<Map<number, StatusCounts>>;
  /**
   * Takes or renews the lease `name` for `holder` until `now + ttlMs` if it is free, expired or
   * already `holder`'s; false when another holder has it. Lets one of several servers run a job.
   */
  acquireLease(name: string, holder: string, now: number, ttlMs: number): Promise<boolean>;
  /** Gives the lease up if `holder` has it, so a restarted server need not wait for it to expire. */
  releaseLease(name: string, holder: string): Promise<void>;
  jobState(name: string): Promise<string | null>;
  setJobState(name: string, value: string): Promise<void>;
  /** Deletes what is older than the policy keeps; returns rows removed per table. */
  purge(now: number, policy: RetentionPolicy): Promise<Record<string, number>>;
}
