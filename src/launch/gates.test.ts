import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ModelTraffic } from '../serving/trafficStats.js';
import { evaluateGates, gatesPass } from './gates.js';

const traffic = (modelId: string, requests: number, errors: number, p99Ms: number | null): ModelTraffic => ({
  modelId,
  fromMs: 0,
  toMs: 60_000,
  requests,
  errors,
  errorRate: requests ? errors / requests : 0,
  qps: requests / 60,
  p50Ms: p99Ms === null ? null : p99Ms / 3,
  p99Ms,
});

const input = { errorRateMargin: 0.005, p99Ms: 100, stability: null } as const;

test('a healthy candidate passes every gate', () => {
  const results = evaluateGates({ ...input, candidate: traffic('c', 1000, 1, 40), baseline: traffic('b', 4000, 4, 45) });
  assert.ok(gatesPass(results));
  assert.deepEqual(results.map((r) => r.name), ['error_rate', 'p99_latency', 'stability']);
});

test('errors above the baseline plus the margin fail the error gate', () => {
  const results = evaluateGates({ ...input, candidate: traffic('c', 1000, 20, 40), baseline: traffic('b', 4000, 4, 45) });
  const gate = results.find((r) => r.name === 'error_rate')!;
  assert.equal(gate.pass, false);
  assert.equal(gate.value, 0.02);
  assert.ok(Math.abs(gate.limit! - 0.006) < 1e-12);
  assert.ok(!gatesPass(results));
});

test('a p99 over the objective fails the latency gate', () => {
  const results = evaluateGates({ ...input, candidate: traffic('c', 1000, 0, 180), baseline: null });
  assert.equal(results.find((r) => r.name === 'p99_latency')!.pass, false);
});

test('an unstable candidate fails the stability gate; no labels is not judged', () => {
  assert.equal(evaluateGates({ ...input, stability: 'unstable', candidate: traffic('c', 1000, 0, 10), baseline: null }).find((r) => r.name === 'stability')!.pass, false);
  const none = evaluateGates({ ...input, candidate: traffic('c', 1000, 0, 10), baseline: null }).find((r) => r.name === 'stability')!;
  assert.equal(none.pass, true);
  assert.match(none.detail, /not judged/);
});

test('too few candidate requests are not judged, and say so', () => {
  const results = evaluateGates({ ...input, candidate: traffic('c', 5, 5, 500), baseline: null });
  assert.ok(gatesPass(results));
  assert.match(results[0]!.detail, /not judged/);
});
