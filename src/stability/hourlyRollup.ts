import { Accumulator } from './accumulator.js';
import { HOUR_MS } from './eventBatch.js';
import type { BucketRow } from './stabilityStore.js';

/**
 * Minute sums merged per (model, task, hour), in the order given: the hourly rollup written with the
 * minutes. In-process ingestion and the stream workers both call this on a request's minutes, so both
 * paths store the same hours.
 */
export function hourlyRollup(minuteBuckets: readonly BucketRow[]): BucketRow[] {
  const hours = new Map<string, { modelId: string; task: string; start: number; acc: Accumulator }>();
  for (const b of minuteBuckets) {
    const start = b.start - (((b.start % HOUR_MS) + HOUR_MS) % HOUR_MS);
    const key = `${b.modelId}\u0000${b.task}\u0000${start}`;
    let hour = hours.get(key);
    if (!hour) hours.set(key, (hour = { modelId: b.modelId, task: b.task, start, acc: new Accumulator() }));
    hour.acc.merge(b.sums);
  }
  return [...hours.values()].map((h) => ({ modelId: h.modelId, task: h.task, start: h.start, sums: h.acc.snapshot() }));
}
