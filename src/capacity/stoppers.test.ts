import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DomainError } from '../core/errors.js';
import type { LatencySummary } from './histogram.js';
import { noErrors } from './loadGenerator.js';
import { checkStoppers, judgeStep, type JudgedMeasurement, type Stoppers } from './stoppers.js';

const latency = (p50: number, p99: number, count = 1000): LatencySummary => ({ count, p50, p90: (p50 + p99) / 2, p99, p999: p99 * 1.2, max: p99 * 1.5, mean: p50 });

/** A healthy step at 100 QPS: 20 ms p50, 30 ms p99, sent on time, nothing failed. */
function step(overrides: Partial<JudgedMeasurement> = {}): JudgedMeasurement {
  return {
    offeredQps: 100,
    issuedQps: 100,
    scheduled: 1000,
    latency: latency(20, 30),
    wireLatency: latency(19, 29),
    sendLag: { p50: 0.5, p99: 1, max: 2 },
    errors: 0,
    errorRate: 0,
    errorsByClass: noErrors(),
    errorSamples: [],
    maxInFlight: 5,
    inFlightLimit: 10_000,
    connections: 1024,
    generator: { workers: 0, eventLoopDelayP99Ms: 1, eventLoopUtilization: 0.2 },
    ...overrides,
  };
}
const stoppers: Stoppers = { p99Ms: 50, maxErrorRate: 0.01 };
const withErrors = (kind: keyof ReturnType<typeof noErrors>, count: number, more: Partial<JudgedMeasurement> = {}) => {
  const errorsByClass = noErrors();
  errorsByClass[kind] = count;
  return step({ errors: count, errorRate: count / 1000, errorsByClass, ...more });
};

describe('stoppers', () => {
  test('a step within every stopper passes', () => {
    assert.deepEqual(judgeStep(step(), stoppers), { pass: true, breached: [], stopper: null, generatorLimit: null, targetDown: null });
  });

  test('the target queueing breaches p99: a failure of the target', () => {
    const judged = judgeStep(step({ latency: latency(40, 400), wireLatency: latency(39, 399) }), stoppers);
    assert.equal(judged.pass, false);
    assert.deepEqual(judged.breached, ['p99']);
    assert.equal(judged.stopper, 'p99');
    assert.equal(judged.generatorLimit, null);
  });

  test('optional stoppers count when set, in order', () => {
    const slowMedian = step({ latency: latency(30, 40), wireLatency: latency(30, 40) });
    assert.equal(judgeStep(slowMedian, stoppers).pass, true);
    const judged = judgeStep(slowMedian, { ...stoppers, p50Ms: 25 });
    assert.deepEqual(judged.breached, ['p50']);
    const both = judgeStep(withErrors('http_5xx', 50, { latency: latency(30, 60), wireLatency: latency(30, 60) }), { ...stoppers, p50Ms: 25 });
    assert.deepEqual(both.breached, ['p50', 'p99', 'error_rate']);
    assert.equal(both.stopper, 'p50');
  });

  test('errors the target answers breach the error stopper', () => {
    const judged = judgeStep(withErrors('http_5xx', 20), stoppers);
    assert.deepEqual(judged.breached, ['error_rate']);
    assert.equal(judged.generatorLimit, null);
    assert.equal(judgeStep(withErrors('http_5xx', 10), stoppers).pass, true, 'exactly at the limit holds');
  });

  test('a breach made of send lag, while the wire latency holds, is the generator\'s', () => {
    const judged = judgeStep(step({ latency: latency(25, 120), wireLatency: latency(19, 29), sendLag: { p50: 5, p99: 90, max: 120 } }), stoppers);
    assert.equal(judged.pass, false);
    assert.equal(judged.generatorLimit?.kind, 'cpu');
    assert.match(judged.generatorLimit!.message, /left the generator late.*send lag p99 90 ms/);
  });

  test('requests waiting for the generator\'s connections are its concurrency limit', () => {
    const judged = judgeStep(step({ latency: latency(25, 120), wireLatency: latency(19, 29), maxInFlight: 40, connections: 4 }), stoppers);
    assert.equal(judged.generatorLimit?.kind, 'concurrency');
    assert.match(judged.generatorLimit!.message, /4 connections.*--connections/);
  });

  test('requests dropped at the in-flight cap, while the target answers in time, are the generator\'s', () => {
    const judged = judgeStep(withErrors('overload', 300, { maxInFlight: 2, inFlightLimit: 2 }), stoppers);
    assert.deepEqual(judged.breached, ['error_rate']);
    assert.equal(judged.generatorLimit?.kind, 'concurrency');
    assert.match(judged.generatorLimit!.message, /cap of 2 requests in flight.*300 requests were not sent.*--max-in-flight.*about 5/);
  });

  test('overload errors beside a target that is slow on the wire are the target\'s', () => {
    const judged = judgeStep(withErrors('overload', 300, { maxInFlight: 100, inFlightLimit: 100, latency: latency(900, 2000), wireLatency: latency(900, 2000) }), stoppers);
    assert.equal(judged.pass, false);
    assert.equal(judged.generatorLimit, null);
  });

  test('a generator that could not send at the offered rate is limited, even if the step passed', () => {
    const judged = judgeStep(step({ issuedQps: 90, generator: { workers: 0, eventLoopDelayP99Ms: 80, eventLoopUtilization: 1 } }), stoppers);
    assert.equal(judged.generatorLimit?.kind, 'cpu');
    assert.match(judged.generatorLimit!.message, /sent only 90 of the 100 requests per second.*100% busy.*--workers/);
    assert.equal(judgeStep(step({ issuedQps: 96 }), stoppers).generatorLimit, null, 'a small shortfall is noise');
  });

  test('a saturated generator cannot be trusted with a failure', () => {
    const busy = { workers: 0, eventLoopDelayP99Ms: 40, eventLoopUtilization: 0.99 };
    const failed = judgeStep(step({ latency: latency(40, 400), wireLatency: latency(39, 399), generator: busy }), stoppers);
    assert.equal(failed.generatorLimit?.kind, 'cpu');
    assert.match(failed.generatorLimit!.message, /saturated/);
    assert.equal(judgeStep(step({ generator: busy }), stoppers).generatorLimit, null, 'a pass measured by a busy generator still holds: its latencies are upper bounds');
  });

  test('most requests failing to connect is the target falling over', () => {
    const judged = judgeStep(withErrors('connection', 600, { errorSamples: ['ECONNREFUSED'] }), stoppers);
    assert.match(judged.targetDown!, /600 of 1000 requests could not connect \(ECONNREFUSED\)/);
    assert.equal(judgeStep(withErrors('connection', 20), stoppers).targetDown, null, 'a few resets are errors, not a fall');
  });

  test('impossible stoppers are refused, each named', () => {
    assert.deepEqual(checkStoppers({ p99Ms: 50, maxErrorRate: 0 }), { p99Ms: 50, maxErrorRate: 0 });
    assert.deepEqual(checkStoppers({ p99Ms: 50, maxErrorRate: 0.01, p50Ms: 10, p90Ms: null }), { p99Ms: 50, maxErrorRate: 0.01, p50Ms: 10 });
    assert.throws(
      () => checkStoppers({ p99Ms: 0, maxErrorRate: 1, p50Ms: -3 }),
      (error: unknown) => {
        assert.ok(error instanceof DomainError);
        assert.equal(error.code, 'invalid_input');
        assert.deepEqual(
          error.details.map((d) => d.path),
          ['p99Ms', 'p50Ms', 'maxErrorRate'],
        );
        return true;
      },
    );
    assert.throws(() => checkStoppers({ p99Ms: Number.NaN, maxErrorRate: -0.1 }), /impossible stoppers/);
  });
});
