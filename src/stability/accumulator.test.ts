import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mulberry32 } from '../sim/random.js';
import { Accumulator, P_EPSILON, type AccumulatorSnapshot } from './accumulator.js';
import { stabilityFixturesDir } from './stabilityFixtures.js';
import { metricsOf, type StabilityMetrics } from './metrics.js';

// addColumns is the ingestion hot path; add() is the reference. Each test compares the two on the
// same data, so a slip in the hand-written loops (a dropped compensation, the wrong log for a label,
// a range off by one) shows up as a difference.

const REL = 1e-12;

function close(actual: number, expected: number, rel = REL): boolean {
  return actual === expected || Math.abs(actual - expected) <= rel * Math.max(Math.abs(actual), Math.abs(expected));
}

function assertSameSums(actual: Accumulator, expected: Accumulator, where: string, rel = REL): void {
  assert.equal(actual.count, expected.count, `${where}: count`);
  for (const field of ['weight', 'positives', 'weightedP', 'weightedLogLoss'] as const) {
    assert.ok(close(actual[field], expected[field], rel), `${where}: ${field} = ${actual[field]}, expected ${expected[field]}`);
  }
}

/** Probabilities skewed towards 0 like a ranking model's, labels drawn from them. */
function randomColumns(n: number, seed: number, options: { weights?: boolean; fractionalLabels?: boolean } = {}) {
  const next = mulberry32(seed);
  const p = new Float64Array(n);
  const y = options.fractionalLabels ? new Float64Array(n) : new Uint8Array(n);
  const w = options.weights ? new Float64Array(n) : undefined;
  for (let i = 0; i < n; i++) {
    const pi = next() ** (1 + 8 * next());
    p[i] = pi;
    y[i] = options.fractionalLabels ? (next() < 0.3 ? next() : next() < pi ? 1 : 0) : next() < pi ? 1 : 0;
    if (w) w[i] = next() < 0.05 ? 0 : 0.1 + 10 * next();
  }
  return { p, y, w };
}

function addLoop(acc: Accumulator, p: ArrayLike<number>, y: ArrayLike<number>, w?: ArrayLike<number>, from = 0, to = p.length): Accumulator {
  for (let i = from; i < to; i++) acc.add(p[i]!, y[i]!, w ? w[i]! : 1);
  return acc;
}

test('addColumns without weights gives the same bits as add() per event (0/1 labels in a Uint8Array)', () => {
  const { p, y } = randomColumns(50_000, 1);
  const columns = new Accumulator().addColumns(p, y);
  const loop = addLoop(new Accumulator(), p, y);
  assert.deepEqual(columns.snapshot(), loop.snapshot());
  assert.ok(columns.positives > 100 && columns.positives < columns.weight, 'the data has both classes');
});

test('addColumns without weights: labels as a Float64Array or a plain array, fractional labels included', () => {
  for (const fractionalLabels of [false, true]) {
    const { p, y } = randomColumns(20_000, 2, { fractionalLabels });
    const asFloat = Float64Array.from(y);
    const asArray = Array.from(y);
    const loop = addLoop(new Accumulator(), p, y);
    assertSameSums(new Accumulator().addColumns(p, asFloat), loop, `Float64Array labels (fractional: ${fractionalLabels})`);
    assertSameSums(new Accumulator().addColumns(Array.from(p), asArray), loop, `plain arrays (fractional: ${fractionalLabels})`);
  }
});

test('addColumns with weights matches add(p, y, w) per event', () => {
  for (const fractionalLabels of [false, true]) {
    const { p, y, w } = randomColumns(30_000, 3, { weights: true, fractionalLabels });
    const columns = new Accumulator().addColumns(p, y, w);
    const loop = addLoop(new Accumulator(), p, y, w);
    assertSameSums(columns, loop, `weighted (fractional labels: ${fractionalLabels})`);
    // Weights really count: the weighted sums are not the unit-weight ones.
    assert.ok(!close(columns.weightedLogLoss / columns.weight, new Accumulator().addColumns(p, y).weightedLogLoss / p.length, 1e-6));
  }
});

test('addColumns adds exactly the range [from, to), and ranges add up to the whole', () => {
  const { p, y, w } = randomColumns(10_000, 4, { weights: true });
  for (const weights of [undefined, w]) {
    const ranged = new Accumulator().addColumns(p, y, weights, 1234, 5678);
    assertSameSums(ranged, addLoop(new Accumulator(), p, y, weights, 1234, 5678), `range (weighted: ${weights !== undefined})`);
    assert.equal(ranged.count, 5678 - 1234);

    const pieces = new Accumulator();
    const cuts = [0, 1, 999, 1000, 4321, 9999, 10_000];
    for (let k = 1; k < cuts.length; k++) pieces.addColumns(p, y, weights, cuts[k - 1], cuts[k]);
    assertSameSums(pieces, addLoop(new Accumulator(), p, y, weights), `pieces (weighted: ${weights !== undefined})`);

    const untilEnd = new Accumulator().addColumns(p, y, weights, 9000);
    assertSameSums(untilEnd, addLoop(new Accumulator(), p, y, weights, 9000), 'from only');
  }
  const empty = new Accumulator().addColumns(p, y, undefined, 500, 500);
  assert.deepEqual(empty.snapshot(), new Accumulator().snapshot());
});

test('addColumns continues an accumulator that add() and merge() have already filled', () => {
  const { p, y, w } = randomColumns(8_000, 5, { weights: true });
  const a = new Accumulator().add(0.3, 1, 2.5).add(0.01, 0);
  const b = new Accumulator().add(0.3, 1, 2.5).add(0.01, 0);
  a.addColumns(p, y, undefined, 0, 4000).addColumns(p, y, w, 4000, 8000);
  addLoop(b, p, y, undefined, 0, 4000);
  addLoop(b, p, y, w, 4000, 8000);
  assertSameSums(a, b, 'mixed add, unweighted and weighted columns');
});

test('p of exactly 0 and 1 are clamped for log loss as add() does, whatever the label', () => {
  const p = Float64Array.from([0, 1, 0, 1, 0.5, P_EPSILON / 2, 1 - P_EPSILON / 4]);
  const y = Uint8Array.from([0, 1, 1, 0, 1, 1, 0]);
  const columns = new Accumulator().addColumns(p, y);
  const loop = addLoop(new Accumulator(), p, y);
  assert.deepEqual(columns.snapshot(), loop.snapshot());
  assert.ok(Number.isFinite(columns.weightedLogLoss));
  // Two confident mistakes cost about -ln(1e-15) each; the rest is small.
  assert.ok(columns.weightedLogLoss > 2 * 34 && columns.weightedLogLoss < 4 * 36, `${columns.weightedLogLoss}`);
  // The same through the weighted loop and fractional-capable loop.
  assertSameSums(new Accumulator().addColumns(p, Float64Array.from(y), new Float64Array(p.length).fill(1)), loop, 'weighted loop, unit weights');
  assertSameSums(new Accumulator().addColumns(p, Float64Array.from(y)), loop, 'Float64Array labels');
});

test('snapshots of column-filled accumulators merge into the sums of the whole', () => {
  const { p, y, w } = randomColumns(40_000, 6, { weights: true });
  for (const weights of [undefined, w]) {
    const parts = [0, 7_000, 19_000, 40_000];
    const snapshots: AccumulatorSnapshot[] = [];
    for (let k = 1; k < parts.length; k++) snapshots.push(JSON.parse(JSON.stringify(new Accumulator().addColumns(p, y, weights, parts[k - 1], parts[k]).snapshot())) as AccumulatorSnapshot);
    const merged = snapshots.reduce((acc, s) => acc.merge(s), new Accumulator());
    const whole = addLoop(new Accumulator(), p, y, weights);
    assertSameSums(merged, whole, `merged snapshots (weighted: ${weights !== undefined})`);
    const m: StabilityMetrics = metricsOf(merged);
    const e: StabilityMetrics = metricsOf(whole);
    for (const field of ['ctr', 'calibration', 'logLoss', 'ne'] as const) assert.ok(close(m[field]!, e[field]!), `${field}: ${m[field]} vs ${e[field]}`);
  }
});

test('addColumns keeps the compensated precision of add()', () => {
  const n = 1_000_000;
  const p = new Float64Array(n).fill(0.1);
  const y = new Uint8Array(n);
  const acc = new Accumulator();
  // In pieces, so the sums are carried across calls as well as within one.
  for (let from = 0; from < n; from += 4096) acc.addColumns(p, y, undefined, from, Math.min(n, from + 4096));
  // The correctly rounded sum of a million copies of the double 0.1 is 100000; a plain sum drifts.
  assert.equal(acc.weightedP, 100000);
  assert.equal(acc.weightedLogLoss, addLoop(new Accumulator(), p, y).weightedLogLoss);
  const weighted = new Accumulator().addColumns(p, Float64Array.from(y), new Float64Array(n).fill(1));
  assert.equal(weighted.weightedP, 100000);
});

test('the fixture events through addColumns match expected.json', () => {
  const fixtures = stabilityFixturesDir();
  const events = readFileSync(join(fixtures, 'events.ndjson'), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as { model: string; task: string; p: number; y: number; w?: number });
  const byGroup = new Map<string, { p: number[]; y: number[]; w: number[]; weighted: boolean }>();
  for (const e of events) {
    const key = `${e.model}|${e.task}`;
    let g = byGroup.get(key);
    if (!g) byGroup.set(key, (g = { p: [], y: [], w: [], weighted: false }));
    g.p.push(e.p);
    g.y.push(e.y);
    g.w.push(e.w ?? 1);
    if (e.w !== undefined) g.weighted = true;
  }
  const expected = JSON.parse(readFileSync(join(fixtures, 'expected.json'), 'utf8')) as Array<StabilityMetrics & { model: string; task: string }>;
  assert.equal(byGroup.size, expected.length);
  for (const exp of expected) {
    const g = byGroup.get(`${exp.model}|${exp.task}`);
    assert.ok(g, `group ${exp.model} ${exp.task}`);
    const acc = new Accumulator().addColumns(Float64Array.from(g.p), Uint8Array.from(g.y), g.weighted ? Float64Array.from(g.w) : undefined);
    const m = metricsOf(acc);
    assert.equal(m.count, exp.count);
    for (const field of ['weight', 'positives', 'ctr', 'calibration', 'logLoss', 'ne'] as const) {
      const want = exp[field];
      if (want === null) assert.equal(m[field], null, `${exp.model} ${exp.task} ${field}`);
      else assert.ok(m[field] !== null && close(m[field]!, want, 1e-9), `${exp.model} ${exp.task} ${field}: ${m[field]} vs ${want}`);
    }
  }
});

test('addColumns rejects arrays of different lengths and ranges outside them', () => {
  const p = new Float64Array(10).fill(0.5);
  const y = new Uint8Array(10);
  const acc = new Accumulator();
  assert.throws(() => acc.addColumns(p, new Uint8Array(9)), RangeError);
  assert.throws(() => acc.addColumns(p, y, new Float64Array(11)), RangeError);
  assert.throws(() => acc.addColumns(p, y, undefined, -1, 5), RangeError);
  assert.throws(() => acc.addColumns(p, y, undefined, 0, 11), RangeError);
  assert.throws(() => acc.addColumns(p, y, undefined, 6, 5), RangeError);
  assert.throws(() => acc.addColumns(p, y, undefined, 0.5, 5), RangeError);
  assert.deepEqual(acc.snapshot(), new Accumulator().snapshot(), 'a rejected call adds nothing');
});

