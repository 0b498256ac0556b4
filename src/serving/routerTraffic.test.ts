import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeHistogram } from '../capacity/histogram.js';
import { RouterTraffic, TRAFFIC_BUCKET_MS, type RouterTrafficBucket, type RouterTrafficStore } from './routerTraffic.js';

/** A store that keeps rows the way the table does: one per (model, bucket, router), replaced on write. */
class MemoryStore implements RouterTrafficStore {
  readonly rows = new Map<string, RouterTrafficBucket & { router: string }>();
  writes = 0;
  failNext = 0;
  async write(router: string, buckets: readonly RouterTrafficBucket[]): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('database unavailable');
    }
    this.writes++;
    for (const b of buckets) this.rows.set(`${b.modelId}|${b.bucketStart}|${router}`, { ...b, router });
  }
  async deleteBefore(): Promise<void> {}
  total(modelId: string): { requests: number; errors: number } {
    let requests = 0;
    let errors = 0;
    for (const row of this.rows.values()) if (row.modelId === modelId) [requests, errors] = [requests + row.requests, errors + row.errors];
    return { requests, errors };
  }
}

const T0 = 1_764_000_000_000;

describe('RouterTraffic', () => {
  it('writes each bucket’s full value, so repeated and retried writes count nothing twice', async () => {
    const store = new MemoryStore();
    let now = T0;
    const traffic = new RouterTraffic(store, 'r1', { now: () => now, log: () => {} });
    for (let i = 0; i < 10; i++) traffic.record('t:v1', 't', 2 + i, i === 0);
    await traffic.flush();
    assert.deepEqual(store.total('t:v1'), { requests: 10, errors: 1 });
    for (let i = 0; i < 5; i++) traffic.record('t:v1', 't', 3, false);
    await traffic.flush();
    await traffic.flush();
    assert.deepEqual(store.total('t:v1'), { requests: 15, errors: 1 }, 'the same bucket rewritten with its new total');
    assert.equal(store.rows.size, 1);

    now += TRAFFIC_BUCKET_MS;
    traffic.record('t:v1', 't', 100, true);
    traffic.record('t:v2', 't', 1, false);
    store.failNext = 1;
    await traffic.flush();
    assert.deepEqual(store.total('t:v1'), { requests: 15, errors: 1 }, 'nothing written by the failed flush');
    await traffic.flush();
    assert.deepEqual(store.total('t:v1'), { requests: 16, errors: 2 }, 'the failed buckets written by the next one, once');
    assert.deepEqual(store.total('t:v2'), { requests: 1, errors: 0 });
    const latest = store.rows.get(`t:v1|${T0 + TRAFFIC_BUCKET_MS}|r1`)!;
    const histogram = decodeHistogram(latest.latency);
    assert.equal(histogram.totalCount, 1);
    assert.ok(Math.abs(histogram.maxValue - 100_000) <= 100, `latency kept in microseconds: ${histogram.maxValue}`);
  });

  it('writes nothing when nothing changed, and the last bucket on close', async () => {
    const store = new MemoryStore();
    let now = T0 + 3000;
    const traffic = new RouterTraffic(store, 'r1', { now: () => now, log: () => {} });
    await traffic.flush();
    assert.equal(store.writes, 0);
    traffic.record('t:v1', 't', 1, false);
    now += 60_000;
    await traffic.close();
    assert.equal(store.writes, 1);
    assert.equal([...store.rows.values()][0]!.bucketStart, T0, 'buckets start on 10-second boundaries');
    await traffic.flush();
    assert.equal(store.writes, 1, 'a written closed bucket is not written again');
  });

  it('keeps at most maxPendingBuckets while the store fails', async () => {
    const store = new MemoryStore();
    let now = T0;
    const lines: string[] = [];
    const traffic = new RouterTraffic(store, 'r1', { now: () => now, maxPendingBuckets: 3, log: (l) => lines.push(l) });
    store.failNext = 100;
    for (let i = 0; i < 6; i++) {
      traffic.record('t:v1', 't', 1, false);
      now += TRAFFIC_BUCKET_MS;
      await traffic.flush();
    }
    store.failNext = 0;
    await traffic.flush();
    assert.equal(store.rows.size, 3, 'the three newest buckets survived');
    assert.ok(lines.some((l) => /dropped the \d+ oldest/.test(l)), lines.join('\n'));
  });
});
