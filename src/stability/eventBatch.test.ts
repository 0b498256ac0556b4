import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Accumulator } from './accumulator.js';
import { EventBatch, type IngestCatalog } from './eventBatch.js';

const NOW = Date.parse('2026-11-25T10:00:00Z');
const catalog: IngestCatalog = { model: (id) => (id === 'ig_feed_main_mtml:v1' ? { tasks: new Set(['PLIKE']), team: 'feed' } : undefined) };
const policy = { now: NOW, latenessMs: 3_600_000, futureMs: 300_000, mayIngest: () => true };

describe('EventBatch columnar runs', () => {
  it('sums runs of valid events exactly as event by event, across bad values, minute edges and the lateness bound', () => {
    const n = 400;
    const p: unknown[] = [];
    const y: unknown[] = [];
    const ts: number[] = [];
    const w: number[] = [];
    for (let i = 0; i < n; i++) {
      p.push(((i * 37) % 100) / 100);
      y.push(i % 7 === 0 ? 1 : 0);
      // From 61 minutes ago (too late) across several minute edges to now.
      ts.push(NOW - 3_660_000 + i * 9_200);
      w.push(1 + (i % 3));
    }
    p[50] = 1.5; // bad value mid-run
    y[51] = 2;
    p[52] = 'x';
    const batch = new EventBatch(catalog, policy);
    const events = batch.addColumnar({ model: 'ig_feed_main_mtml:v1', task: 'PLIKE', p, y, ts, w }, 1, '(body)');
    assert.equal(events, n);
    assert.equal(batch.accepted + batch.rejected, n);
    assert.equal(batch.rejectedBy.bad_value, 3);
    assert.ok(batch.rejectedBy.too_late > 0);

    // The same accepted events, one by one, into per-minute accumulators.
    const expected = new Map<number, Accumulator>();
    let accepted = 0;
    for (let i = 0; i < n; i++) {
      if (i >= 50 && i <= 52) continue;
      if (ts[i]! < NOW - 3_600_000) continue;
      const minute = ts[i]! - (ts[i]! % 60_000);
      (expected.get(minute) ?? expected.set(minute, new Accumulator()).get(minute)!).add(p[i] as number, y[i] as number, w[i]);
      accepted += 1;
    }
    assert.equal(batch.accepted, accepted);
    assert.equal(batch.buckets.size, expected.size);
    for (const bucket of batch.buckets.values()) {
      const want = expected.get(bucket.minute)!;
      assert.equal(bucket.acc.count, want.count, `minute ${bucket.minute}`);
      for (const key of ['weight', 'positives', 'weightedP', 'weightedLogLoss'] as const) {
        assert.ok(Math.abs(bucket.acc[key] - want[key]) <= 1e-12 * Math.max(1, Math.abs(want[key])), `${key} at ${bucket.minute}: ${bucket.acc[key]} vs ${want[key]}`);
      }
    }
    assert.deepEqual(
      batch.errors.filter((e) => /\.(p|y)\[/.test(e.message)).map((e) => e.line),
      [51, 52, 53],
    );
  });
});
