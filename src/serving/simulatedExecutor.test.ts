import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SimulatedExecutor, type SimulatedExecutorOptions } from './simulatedExecutor.js';
import { SIMULATED_LATENCY, servingOutcome } from './simulatedWorld.js';

const T0 = Date.parse('2026-11-26T10:00:00Z');
const TYPE = 'ig_feed_main_mtml';
const V1 = `${TYPE}:v1`;
const V2 = `${TYPE}:v2`;

class Clock {
  constructor(public ms = T0) {}
  now = () => new Date(this.ms);
  advance(ms: number) {
    this.ms += ms;
  }
}

function world(overrides: Partial<SimulatedExecutorOptions> = {}, shares: Record<string, number> = { [V1]: 0.5, [V2]: 0.5 }) {
  const clock = new Clock();
  const executor = new SimulatedExecutor({
    clock,
    startupMs: 30_000,
    demandQps: () => 300,
    trafficShare: (id) => shares[id] ?? 0,
    capacityQps: () => 100,
    ...overrides,
  });
  return { clock, executor, shares };
}

describe('servingOutcome', () => {
  it('latency stays near its base at moderate load and rises steeply toward saturation, capped', () => {
    const at = (u: number) => servingOutcome({ loadQps: u * 100, readyReplicas: 1, capacityQps: 100, faultErrorRate: 0 });
    assert.equal(at(0).p99Ms, SIMULATED_LATENCY.p99BaseMs);
    const p99s = [0.3, 0.5, 0.75, 0.9, 0.99].map((u) => at(u).p99Ms);
    for (let i = 1; i < p99s.length; i++) assert.ok(p99s[i]! > p99s[i - 1]!, `p99 rises: ${p99s}`);
    assert.ok(at(1 / 1.3).p99Ms < 3 * SIMULATED_LATENCY.p99BaseMs, 'a replica sized with 30% headroom stays within 3x its idle latency');
    assert.ok(at(0.9).p99Ms > 5 * SIMULATED_LATENCY.p99BaseMs, 'near saturation it does not');
    assert.equal(at(1.5).p99Ms, SIMULATED_LATENCY.p99BaseMs * SIMULATED_LATENCY.maxFactor);
    assert.ok(at(0.9).p50Ms / SIMULATED_LATENCY.p50BaseMs < at(0.9).p99Ms / SIMULATED_LATENCY.p99BaseMs, 'the tail grows faster than the median');
  });

  it('fails the overflow above capacity, then the model’s own faults on the rest, and everything with no replica', () => {
    assert.ok(Math.abs(servingOutcome({ loadQps: 150, readyReplicas: 1, capacityQps: 100, faultErrorRate: 0 }).errorShare - 1 / 3) < 1e-12);
    assert.equal(servingOutcome({ loadQps: 50, readyReplicas: 1, capacityQps: 100, faultErrorRate: 0.2 }).errorShare, 0.2);
    assert.ok(Math.abs(servingOutcome({ loadQps: 200, readyReplicas: 1, capacityQps: 100, faultErrorRate: 0.2 }).errorShare - 0.6) < 1e-12);
    assert.equal(servingOutcome({ loadQps: 10, readyReplicas: 0, capacityQps: 100, faultErrorRate: 0 }).errorShare, 1);
    assert.equal(servingOutcome({ loadQps: 0, readyReplicas: 0, capacityQps: 100, faultErrorRate: 0 }).errorShare, 0);
  });
});

describe('SimulatedExecutor', () => {
  it('replicas become ready startupMs after they were asked for, on its clock', async () => {
    const { clock, executor } = world();
    const asked = await executor.apply({ modelId: V1, modelType: TYPE, replicas: 3 });
    assert.deepEqual(asked, { modelId: V1, modelType: TYPE, desired: 3, ready: 0, endpoints: [] });
    clock.advance(29_999);
    assert.equal((await executor.status(V1))?.ready, 0);
    clock.advance(1);
    assert.deepEqual(await executor.status(V1), { modelId: V1, modelType: TYPE, desired: 3, ready: 3, endpoints: [`sim://${V1}/r1`, `sim://${V1}/r2`, `sim://${V1}/r3`] });
    assert.deepEqual(executor.endpoints(V1), [`sim://${V1}/r1`, `sim://${V1}/r2`, `sim://${V1}/r3`]);
    assert.deepEqual(executor.endpoints(V2), []);
  });

  it('scales down newest first at once, is idempotent, and new replicas need their start-up', async () => {
    const { clock, executor } = world();
    await executor.apply({ modelId: V1, modelType: TYPE, replicas: 3 });
    clock.advance(30_000);
    assert.deepEqual((await executor.apply({ modelId: V1, modelType: TYPE, replicas: 3 })).ready, 3);
    const down = await executor.apply({ modelId: V1, modelType: TYPE, replicas: 1 });
    assert.deepEqual(down.endpoints, [`sim://${V1}/r1`]);
    assert.equal(down.desired, 1);
    const up = await executor.apply({ modelId: V1, modelType: TYPE, replicas: 2 });
    assert.deepEqual([up.desired, up.ready], [2, 1]);
    clock.advance(30_000);
    assert.deepEqual(executor.endpoints(V1), [`sim://${V1}/r1`, `sim://${V1}/r4`]);
    const zero = await executor.apply({ modelId: V1, modelType: TYPE, replicas: 0 });
    assert.deepEqual([zero.desired, zero.ready], [0, 0]);
    assert.notEqual(await executor.status(V1), null, 'scaled to zero is still a deployment');
  });

  it('remove forgets the deployment; list shows what runs', async () => {
    const { executor } = world();
    await executor.apply({ modelId: V2, modelType: TYPE, replicas: 1 });
    await executor.apply({ modelId: V1, modelType: TYPE, replicas: 2 });
    assert.deepEqual((await executor.list()).map((d) => [d.modelId, d.desired]), [[V1, 2], [V2, 1]]);
    await executor.remove(V1);
    await executor.remove(V1);
    assert.equal(await executor.status(V1), null);
    assert.deepEqual((await executor.list()).map((d) => d.modelId), [V2]);
    await assert.rejects(executor.apply({ modelId: V1, modelType: TYPE, replicas: 1.5 }), /whole number/);
  });

  it('computes a window from demand x share over the ready replicas’ capacity', async () => {
    const { clock, executor } = world();
    await executor.apply({ modelId: V1, modelType: TYPE, replicas: 2 });
    clock.advance(30_000);
    const from = clock.ms;
    clock.advance(60_000);
    const traffic = await executor.window(V1, from, clock.ms);
    // 300 QPS x 0.5 = 150 QPS on 2 x 100: utilization 0.75.
    const expected = servingOutcome({ loadQps: 150, readyReplicas: 2, capacityQps: 100, faultErrorRate: 0 });
    assert.deepEqual(traffic, { modelId: V1, fromMs: from, toMs: clock.ms, requests: 9000, errors: 0, errorRate: 0, qps: 150, p50Ms: Math.round(expected.p50Ms * 1000) / 1000, p99Ms: Math.round(expected.p99Ms * 1000) / 1000 });
  });

  it('follows replicas in and out inside a window: traffic with no ready replica fails, overload fails its overflow', async () => {
    const { clock, executor } = world();
    const from = clock.ms;
    await executor.apply({ modelId: V1, modelType: TYPE, replicas: 1 });
    clock.advance(60_000);
    // 30 s with nothing ready (4,500 requests, all failing), then 30 s at 150 QPS on one replica of 100 (a third fails).
    const traffic = await executor.window(V1, from, clock.ms);
    assert.equal(traffic.requests, 9000);
    assert.equal(traffic.errors, 4500 + 1500);
    assert.equal(traffic.p99Ms, SIMULATED_LATENCY.p99BaseMs * SIMULATED_LATENCY.maxFactor);
    // Scaled up, the next minute is healthy; the earlier window does not change.
    await executor.apply({ modelId: V1, modelType: TYPE, replicas: 2 });
    const later = clock.ms;
    clock.advance(90_000);
    const next = await executor.window(V1, later + 30_000, clock.ms);
    assert.equal(next.errors, 0);
    assert.deepEqual(await executor.window(V1, from, later), traffic);
    // History outlives removal: a launch reads the bake window after the candidate is gone.
    await executor.remove(V1);
    assert.deepEqual(await executor.window(V1, from, later), traffic);
  });

  it('a faulty model fails its share; a model with no traffic share has no requests and no latency', async () => {
    const { clock, executor } = world({ faultErrorRate: (id) => (id === V2 ? 0.2 : 0) }, { [V1]: 0, [V2]: 0.5 });
    await executor.apply({ modelId: V1, modelType: TYPE, replicas: 2 });
    await executor.apply({ modelId: V2, modelType: TYPE, replicas: 2 });
    clock.advance(30_000);
    const from = clock.ms;
    clock.advance(60_000);
    const faulty = await executor.window(V2, from, clock.ms);
    assert.equal(faulty.errorRate, 0.2);
    assert.deepEqual(await executor.window(V1, from, clock.ms), { modelId: V1, fromMs: from, toMs: clock.ms, requests: 0, errors: 0, errorRate: 0, qps: 0, p50Ms: null, p99Ms: null });
  });

  it('peak demand is the highest per-minute rate of the type over the window', async () => {
    // Demand climbs 10 QPS a minute from 100.
    const { executor } = world({ demandQps: (type, at) => (type === TYPE ? 100 + 10 * Math.floor((at - T0) / 60_000) : 0) });
    assert.equal(await executor.peakQps(TYPE, T0, T0 + 10 * 60_000), 190);
    assert.equal(await executor.peakQps(TYPE, T0 + 90_000, T0 + 150_000), 120);
    assert.equal(await executor.peakQps('ig_other_mtml', T0, T0 + 60_000), null);
  });

  it('runs hundreds of launches on a manual clock with the same results every time', async () => {
    const run = async () => {
      const { clock, executor, shares } = world({ faultErrorRate: (id) => (id.endsWith(':v7') ? 0.05 : 0) }, {});
      const outcomes: Array<[number, number]> = [];
      for (let n = 1; n <= 300; n++) {
        const old = `${TYPE}:v${n - 1}`;
        const candidate = `${TYPE}:v${n}`;
        await executor.apply({ modelId: candidate, modelType: TYPE, replicas: 2 });
        clock.advance(30_000);
        shares[candidate] = 0.5;
        shares[old] = 0.5;
        const from = clock.ms;
        clock.advance(60_000);
        const traffic = await executor.window(candidate, from, clock.ms);
        outcomes.push([traffic.requests, traffic.errors]);
        shares[old] = 0;
        shares[candidate] = 1;
        await executor.apply({ modelId: candidate, modelType: TYPE, replicas: 4 });
        await executor.remove(old);
        clock.advance(30_000);
      }
      return outcomes;
    };
    const first = await run();
    assert.equal(first.length, 300);
    assert.deepEqual(first[0], [9000, 0]);
    assert.deepEqual(first[6], [9000, 450]);
    assert.deepEqual(await run(), first);
  });
});
