import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Accumulator, P_EPSILON } from './accumulator.js';
import { stabilityFixturesDir } from './stabilityFixtures.js';
import { metricsOf, type StabilityMetrics } from './metrics.js';
import { windowStart } from './windows.js';

const FIXTURES = stabilityFixturesDir();

interface Event {
  model: string;
  task: string;
  p: number;
  y: number;
  ts: number;
  w?: number;
}
type Expected = StabilityMetrics & { model: string; task: string; windowStart?: number };

const NUMERIC = ['weight', 'positives', 'ctr', 'calibration', 'logLoss', 'ne'] as const;

function close(actual: number, expected: number, rel = 1e-9): boolean {
  return actual === expected || Math.abs(actual - expected) <= rel * Math.max(Math.abs(actual), Math.abs(expected));
}

function assertMetrics(actual: StabilityMetrics, expected: Expected, where: string): void {
  assert.equal(actual.count, expected.count, `${where}: count`);
  for (const field of NUMERIC) {
    const a = actual[field];
    const e = expected[field];
    if (e === null) {
      assert.equal(a, null, `${where}: ${field} should be null`);
    } else {
      assert.ok(a !== null && close(a, e), `${where}: ${field} = ${a}, expected ${e}`);
    }
  }
}

function loadEvents(): Event[] {
  return readFileSync(join(FIXTURES, 'events.ndjson'), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Event);
}

function group(events: Event[], keyOf: (e: Event) => string): Map<string, Accumulator> {
  const groups = new Map<string, Accumulator>();
  for (const e of events) {
    const key = keyOf(e);
    let acc = groups.get(key);
    if (!acc) groups.set(key, (acc = new Accumulator()));
    acc.add(e.p, e.y, e.w ?? 1);
  }
  return groups;
}

function checkAgainst(groups: Map<string, Accumulator>, expected: Expected[], keyOf: (e: Expected) => string): void {
  assert.deepEqual([...groups.keys()].sort(), expected.map(keyOf).sort(), 'same set of groups');
  for (const exp of expected) {
    const key = keyOf(exp);
    const acc = groups.get(key);
    assert.ok(acc, `missing group ${key}`);
    assertMetrics(metricsOf(acc), exp, key);
  }
}

test('fixture: per model+task over the whole file matches expected.json', () => {
  const expected = JSON.parse(readFileSync(join(FIXTURES, 'expected.json'), 'utf8')) as Expected[];
  const groups = group(loadEvents(), (e) => `${e.model}|${e.task}`);
  checkAgainst(groups, expected, (e) => `${e.model}|${e.task}`);
});

test('fixture: per model+task per 60 s window matches expected-windows.json', () => {
  const expected = JSON.parse(readFileSync(join(FIXTURES, 'expected-windows.json'), 'utf8')) as Expected[];
  const groups = group(loadEvents(), (e) => `${e.model}|${e.task}|${windowStart(e.ts, 60_000)}`);
  checkAgainst(groups, expected, (e) => `${e.model}|${e.task}|${e.windowStart}`);
});

test('merge of two halves (also through a JSON snapshot) equals the whole', () => {
  const events = loadEvents().filter((e) => e.model === 'ig_reels_main_mtml:v1' && e.task === 'PLIKE');
  const whole = new Accumulator();
  const a = new Accumulator();
  const b = new Accumulator();
  events.forEach((e, i) => {
    whole.add(e.p, e.y);
    (i % 2 === 0 ? a : b).add(e.p, e.y);
  });
  const viaSnapshot = Accumulator.fromSnapshot(JSON.parse(JSON.stringify(a.snapshot())));
  for (const merged of [new Accumulator().merge(a).merge(b), viaSnapshot.merge(b.snapshot())]) {
    const m = metricsOf(merged);
    const w = metricsOf(whole);
    assert.equal(m.count, w.count);
    for (const field of NUMERIC) {
      const x = m[field];
      const y = w[field];
      assert.ok(x !== null && y !== null && close(x, y, 1e-14), `${field}: ${x} vs ${y}`);
    }
  }
  assert.throws(() => Accumulator.fromSnapshot({ version: 1, count: -1 }));
});

test('null cases: empty, no positives, no negatives', () => {
  assert.deepEqual(metricsOf(new Accumulator()), {
    count: 0, weight: 0, positives: 0, ctr: null, calibration: null, logLoss: null, ne: null,
  });
  const zeroWeight = metricsOf(new Accumulator().add(0.5, 1, 0));
  assert.equal(zeroWeight.count, 1);
  assert.equal(zeroWeight.ctr, null);
  assert.equal(zeroWeight.logLoss, null);

  const noPos = metricsOf(new Accumulator().add(0.1, 0).add(0.2, 0));
  assert.equal(noPos.ctr, 0);
  assert.equal(noPos.calibration, null);
  assert.equal(noPos.ne, null);
  assert.ok(close(noPos.logLoss!, -(Math.log(0.9) + Math.log(0.8)) / 2));

  const noNeg = metricsOf(new Accumulator().add(0.7, 1).add(0.9, 1));
  assert.equal(noNeg.ctr, 1);
  assert.equal(noNeg.calibration, null);
  assert.equal(noNeg.ne, null);
  assert.ok(close(noNeg.logLoss!, -(Math.log(0.7) + Math.log(0.9)) / 2));
});

test('p = 0 and p = 1 are clamped to [1e-15, 1 - 1e-15] for log loss', () => {
  const wrong = metricsOf(new Accumulator().add(0, 1).add(1, 0));
  assert.ok(Number.isFinite(wrong.logLoss!));
  assert.ok(close(wrong.logLoss!, -(Math.log(P_EPSILON) + Math.log(1 - (1 - P_EPSILON))) / 2, 1e-12));
  // 1 - 1e-15 is not exact in binary (1 - p' is about 1.11e-15), hence only ~34.5 nats, roughly.
  assert.ok(close(wrong.logLoss!, -Math.log(1e-15), 1e-2));
  const right = metricsOf(new Accumulator().add(0, 0).add(1, 1));
  assert.ok(right.logLoss! > 0 && right.logLoss! < 1e-14);
  // Calibration uses the raw p, not the clamped one.
  assert.equal(right.calibration, 1);
});

test('weights scale sums and are equivalent to repeated events', () => {
  const weighted = new Accumulator().add(0.2, 1, 3).add(0.4, 0, 2);
  const repeated = new Accumulator();
  for (let i = 0; i < 3; i++) repeated.add(0.2, 1);
  for (let i = 0; i < 2; i++) repeated.add(0.4, 0);
  const mw = metricsOf(weighted);
  const mr = metricsOf(repeated);
  assert.equal(mw.count, 2);
  assert.equal(mw.weight, 5);
  assert.equal(mw.positives, 3);
  assert.equal(mw.ctr, 0.6);
  assert.ok(close(mw.calibration!, (3 * 0.2 + 2 * 0.4) / 3));
  for (const field of ['ctr', 'calibration', 'logLoss', 'ne'] as const) {
    assert.ok(close(mw[field]!, mr[field]!, 1e-14), field);
  }
  const ctr = 0.6;
  const ll = (-3 * Math.log(0.2) - 2 * Math.log(0.6)) / 5;
  assert.ok(close(mw.ne!, ll / -(ctr * Math.log(ctr) + (1 - ctr) * Math.log(1 - ctr))));
  assert.throws(() => new Accumulator().add(0.5, 1, -1), RangeError);
  assert.throws(() => new Accumulator().add(Number.NaN, 1), RangeError);
  assert.throws(() => new Accumulator().add(0.5, 2), RangeError);
});

test('compensated sums keep precision where naive summation drifts', () => {
  const acc = new Accumulator();
  let naive = 0;
  for (let i = 0; i < 1_000_000; i++) {
    acc.add(0.1, 0);
    naive += 0.1;
  }
  // The correctly rounded sum (Python's math.fsum) of a million copies of the double 0.1 is 100000.
  assert.equal(acc.weightedP, 100000);
  assert.notEqual(naive, acc.weightedP);
});

test('windowStart floors to epoch-aligned tumbling windows', () => {
  assert.equal(windowStart(1764064860000, 60_000), 1764064860000);
  assert.equal(windowStart(1764064919999, 60_000), 1764064860000);
  assert.equal(windowStart(0, 60_000), 0);
  assert.equal(windowStart(-1, 60_000), -60_000);
  assert.equal(windowStart(-60_000, 60_000), -60_000);
  assert.throws(() => windowStart(1, 0), RangeError);
  assert.throws(() => windowStart(Number.NaN, 60_000), RangeError);
});
