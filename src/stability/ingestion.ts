import { createHash } from 'node:crypto';
import { conflict, invalidInput } from '../core/errors.js';
import type { Actor } from '../registry/actor.js';
import type { Clock } from '../registry/registryService.js';
import { hourlyRollup } from './hourlyRollup.js';
import { EventBatch, HOUR_MS, type BucketSums, type RejectReason } from './eventBatch.js';
import type { RegistrySnapshotSource } from './registrySnapshot.js';
import type { IngestWriteResult, StabilityStore } from './stabilityStore.js';
import { messagesOf, type StreamMessage } from './streamMessage.js';

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

/**
 * Where accepted sums go when workers aggregate them instead of this process: the event stream
 * (`src/stream/eventPublisher.ts`). Both methods refuse with an `unavailable` error when the stream
 * cannot take the request now; nothing has then been accepted.
 */
export interface StreamPublisher {
  /** Throws `unavailable` when the workers are too far behind or the stream is unreachable. */
  admit(): Promise<void>;
  /**
   * Publishes the messages, resolving once the stream has acknowledged every one. With a `dedupeKey`
   * (the same for a retry of the same request) each message's id is derived from it, so a request
   * published again is stored once; without one, ids are random.
   */
  publish(messages: readonly StreamMessage[], dedupeKey: string | null): Promise<void>;
}

/** Idempotency keys: what clients send, kept short so the index stays small. */
const KEY_PATTERN = /^[\x21-\x7e]{1,200}$/;

/**
 * Online ingestion of labeled predictions: checks each event against the registry and the lateness
 * bound, sums the good ones per model, task and minute, and adds the sums to the store in one
 * transaction together with the request's idempotency record, so a retried request counts once.
 *
 * With a `publisher`, the sums are published to the event stream instead (one message per model
 * type) and workers add them to the store; the idempotency record is still claimed here, in a
 * transaction that commits only after the stream acknowledged the messages.
 */
export class IngestionService {
  private readonly committedListeners = new Set<(buckets: readonly BucketSums[]) => void>();

  constructor(
    private readonly store: StabilityStore,
    private readonly snapshots: RegistrySnapshotSource,
    private readonly clock: Clock,
    private readonly options: IngestOptions = DEFAULT_INGEST_OPTIONS,
    private readonly publisher: StreamPublisher | null = null,
  ) {}

  /**
   * Calls `listener` with the per-(model, task, minute) sums of every batch this process commits (or
   * the event stream acknowledged), once per batch: never for a replayed Idempotency-Key or a batch
   * whose write failed. Returns the unsubscribe.
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
    const minuteBuckets = buckets.map((b) => ({ modelId: b.modelId, task: b.task, start: b.minute, sums: b.acc.snapshot() }));
    const idempotency = idempotencyKey === null ? null : { actor: actor.name, key: idempotencyKey, bodyHash, response, receivedAt: now };
    let result: IngestWriteResult;
    if (!this.publisher) {
      result = await this.store.ingest({ minuteBuckets, hourBuckets: hourlyRollup(minuteBuckets), idempotency });
    } else {
      const publisher = this.publisher;
      // Every bucket's model passed the batch's checks against this snapshot, so its type is there.
      const messages = messagesOf(minuteBuckets, (modelId) => snapshot.entries.get(modelId)!.type.name, now);
      // The body hash is part of the ids: a different body under a key whose first use rolled back is new data.
      const dedupeKey = idempotency && `${idempotency.actor}\u0000${idempotency.key}\u0000${bodyHash}`;
      const publish = async () => {
        if (!messages.length) return;
        await publisher.admit();
        await publisher.publish(messages, dedupeKey);
      };
      if (idempotency) {
        // Published inside the key's transaction: a failed publish leaves the key free, a failed commit
        // after a publish is retried under the same message ids, which the stream drops as duplicates.
        result = await this.store.ingest({ minuteBuckets: [], hourBuckets: [], idempotency, beforeCommit: publish });
      } else {
        await publish();
        result = { outcome: 'written' };
      }
    }
    if (result.outcome === 'replayed') return { answer: JSON.parse(result.response) as IngestAnswer, replayed: true, rejectedBy: {} };
    if (result.outcome === 'key_reused') {
      throw conflict(`Idempotency-Key '${idempotencyKey}' was already used by token '${actor.name}' for a different body: use a new key for each new batch, and the same key only to retry the same batch`);
    }
    // The sums are stored (or on the stream): a listener's failure must not fail the request, or its retry would be a replay.
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


function nonZero(counts: Record<RejectReason, number>): Partial<Record<RejectReason, number>> {
  return Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0));
}
