import { createHash } from 'node:crypto';
import { conflict, invalidInput } from '../core/errors.js';
import type { Actor } from '../registry/actor.js';
import type { Clock } from '../registry/registryService.js';
import { Accumulator } from './accumulator.js';
import { EventBatch, HOUR_MS, type BucketSums, type RejectReason } from './eventBatch.js';
import type { RegistrySnapshotSource } from './registrySnapshot.js';
import type { BucketRow, StabilityStore } from './stabilityStore.js';

export interface IngestOptions {
  /** How old an event may be and still count; default one hour. */
  latenessMs: number;
  /** How far in the future an event may be stamped (sender clock skew); default five minutes. */
  futureMs: number;
}

export const DEFAULT_INGEST_OPTIONS: IngestOptions = { latenessMs: HOUR_MS, futureMs: 5 * 60_000 };

/** A request body, already decompressed: NDJSON text or a parsed JSON value holding columnar batches. */
export type IngestBody = { format: 'ndjson'; text: string; bytes: Buffer } | { format: 'columnar'; value: unknown; bytes: Buffer };

export interface IngestAnswer {
  accepted: number;
  rejected: number;
  errors: Array<{ line: number; message: string }>;
  errorsOmitted?: number;
}

export interface IngestResult {
  answer: IngestAnswer;
  /** True when an Idempotency-Key matched an earlier request: nothing was counted again. */
  replayed: boolean;
  /** Rejections by reason, for the ingestion counters; empty on a replay. */
  rejectedBy: Partial<Record<RejectReason, number>>;
}

/** Idempotency keys: what clients send, kept short so the index stays small. */
const KEY_PATTERN = /^[\x21-\x7e]{1,200}$/;

/**
 * Online ingestion of labeled predictions: checks each event against the registry and the lateness
 * bound, sums the good ones per model, task and minute, and adds the sums to the store in one
 * transaction together with the request's idempotency record, so a retried request counts once.
 */
export class IngestionService {
  private readonly committedListeners = new Set<(buckets: readonly BucketSums[]) => void>();

  constructor(
    private readonly store: StabilityStore,
    private readonly snapshots: RegistrySnapshotSource,
    private readonly clock: Clock,
    private readonly options: IngestOptions = DEFAULT_INGEST_OPTIONS,
  ) {}

  /**
   * Calls `listener` with the per-(model, task, minute) sums of every batch this process commits, once
   * per batch: never for a replayed Idempotency-Key or a batch whose write failed. Returns the unsubscribe.
   */
  onCommitted(listener: (buckets: readonly BucketSums[]) => void): () => void {
    this.committedListeners.add(listener);
    return () => this.committedListeners.delete(listener);
  }

  async ingest(actor: Actor, body: IngestBody, idempotencyKey: string | null): Promise<IngestResult> {
    if (idempotencyKey !== null && !KEY_PATTERN.test(idempotencyKey)) {
      throw invalidInput('Idempotency-Key must be 1 to 200 printable ASCII characters, e.g. a UUID', [{ path: 'Idempotency-Key', message: 'not 1-200 printable ASCII characters' }]);
    }
    const snapshot = await this.snapshots.current();
    const now = this.clock.now().getTime();
    const batch = new EventBatch(snapshot, {
      now,
      latenessMs: this.options.latenessMs,
      futureMs: this.options.futureMs,
      mayIngest: (team) => actor.role === 'admin' || actor.role === 'ingest' || (actor.role === 'member' && actor.team === team),
    });
    if (body.format === 'ndjson') batch.addNdjson(body.text);
    else addColumnarBody(batch, body.value);

    const answer = batch.summary();
    const response = JSON.stringify(answer);
    const bodyHash = createHash('sha256').update(body.bytes).digest('base64url');
    const buckets = [...batch.buckets.values()];
    const result = await this.store.ingest({
      minuteBuckets: buckets.map((b) => ({ modelId: b.modelId, task: b.task, start: b.minute, sums: b.acc.snapshot() })),
      hourBuckets: hourly(batch),
      idempotency: idempotencyKey === null ? null : { actor: actor.name, key: idempotencyKey, bodyHash, response, receivedAt: now },
    });
    if (result.outcome === 'replayed') return { answer: JSON.parse(result.response) as IngestAnswer, replayed: true, rejectedBy: {} };
    if (result.outcome === 'key_reused') {
      throw conflict(`Idempotency-Key '${idempotencyKey}' was already used by token '${actor.name}' for a different body: use a new key for each new batch, and the same key only to retry the same batch`);
    }
    // The sums are stored: a listener's failure must not fail the request, or its retry would be a replay.
    for (const listener of this.committedListeners) {
      try {
        listener(buckets);
      } catch {
        // Listeners only count (metrics); the events are already stored.
      }
    }
    return { answer, replayed: false, rejectedBy: nonZero(batch.rejectedBy) };
  }
}

function addColumnarBody(batch: EventBatch, value: unknown): void {
  const batches = Array.isArray(value) ? value : [value];
  if (!batches.length) throw invalidInput('the body is an empty array: send one columnar batch or an array of them');
  let line = 1;
  batches.forEach((b, i) => {
    line += batch.addColumnar(b, line, Array.isArray(value) ? `[${i}]` : '(body)');
  });
}

/** The minute sums merged per hour, so the hourly rollup is written with the same request. */
function hourly(batch: EventBatch): BucketRow[] {
  const hours = new Map<string, { modelId: string; task: string; start: number; acc: Accumulator }>();
  for (const b of batch.buckets.values()) {
    const start = b.minute - (((b.minute % HOUR_MS) + HOUR_MS) % HOUR_MS);
    const key = `${b.modelId}\u0000${b.task}\u0000${start}`;
    let hour = hours.get(key);
    if (!hour) hours.set(key, (hour = { modelId: b.modelId, task: b.task, start, acc: new Accumulator() }));
    hour.acc.merge(b.acc);
  }
  return [...hours.values()].map((h) => ({ modelId: h.modelId, task: h.task, start: h.start, sums: h.acc.snapshot() }));
}

function nonZero(counts: Record<RejectReason, number>): Partial<Record<RejectReason, number>> {
  return Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0));
}
