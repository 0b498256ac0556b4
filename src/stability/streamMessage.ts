import { z } from 'zod';
import { accumulatorSnapshotSchema } from './accumulator.js';
import type { BucketRow } from './stabilityStore.js';

/**
 * What one ingest request puts on the event stream for one model type: the per-(model, task, minute)
 * sums of its accepted events. A request's events are summed where they arrive (the combiner step);
 * the workers merge these partial sums into the stored buckets. Raw events would cost the API server
 * a second encoding and every worker a second parse, and a message per request stays small whatever
 * its event count.
 */
export const StreamMessageSchema = z.strictObject({
  v: z.literal(1),
  modelType: z.string().min(1),
  /** Accepted events in this message: what the worker's counters and the lag report count. */
  events: z.number().int().nonnegative(),
  /** Epoch ms the API server accepted the request: end-to-end lag is measured from it. */
  acceptedAt: z.number(),
  minuteBuckets: z.array(z.strictObject({ modelId: z.string(), task: z.string(), start: z.number(), sums: accumulatorSnapshotSchema })),
});
export type StreamMessage = z.output<typeof StreamMessageSchema>;

/** Subjects are `modelfleet.events.<model type>`; type names are `[a-z0-9_]`, safe in a subject token. */
export const EVENT_SUBJECT_PREFIX = 'modelfleet.events';
export const subjectOf = (modelType: string, prefix = EVENT_SUBJECT_PREFIX): string => `${prefix}.${modelType}`;

export function encodeStreamMessage(message: StreamMessage): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(message));
}

/** Decodes a message body; a body that is not a stream message throws (the worker parks it, never guesses). */
export function decodeStreamMessage(data: Uint8Array): StreamMessage {
  return StreamMessageSchema.parse(JSON.parse(new TextDecoder().decode(data)));
}

/** A request's minute sums split per model type, one message each, in a stable order. */
export function messagesOf(minuteBuckets: readonly BucketRow[], modelTypeOf: (modelId: string) => string, acceptedAt: number): StreamMessage[] {
  const byType = new Map<string, StreamMessage>();
  for (const bucket of minuteBuckets) {
    const modelType = modelTypeOf(bucket.modelId);
    let message = byType.get(modelType);
    if (!message) byType.set(modelType, (message = { v: 1, modelType, events: 0, acceptedAt, minuteBuckets: [] }));
    message.minuteBuckets.push(bucket);
    message.events += bucket.sums.count;
  }
  return [...byType.values()].sort((a, b) => (a.modelType < b.modelType ? -1 : 1));
}
