import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TaskThresholdsSchema, type TaskThresholds } from '../registry/model.js';
import { createRng, type Rng } from '../sim/random.js';
import { Accumulator } from './accumulator.js';
import { metricsOf, type StabilityMetrics } from './metrics.js';
import { learnThresholds, type LearningSample } from './thresholdLearning.js';

const HOUR = 3_600_000;
const FROM = new Date('2025-11-01T00:00:00Z');
const TO = new Date(FROM.getTime() + 14 * 24 * HOUR);
const NOW = new Date('2025-11-15T00:05:00Z');

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** Standard normal draw (Box-Muller) from the seeded source. */
function normal(rng: Rng): number {
  const u = 1 - rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

/**
 * One simulated hour of a reasonably good ranking model: logits spread around -2.2 (a ~13% positive
 * rate), labels drawn from the predicted probabilities, so the model is calibrated up to sampling noise.
 * At ~8000 events (~1100 positives) an hour that noise is about 3% on calibration.
 * `noisyLabels` replaces that share of labels with draws at the base rate, unrelated to the prediction:
 * the kind of label pipeline fault that leaves calibration alone but ruins NE.
 */
function simulateHour(rng: Rng, events: number, noisyLabels = 0): StabilityMetrics {
  const acc = new Accumulator();
  for (let i = 0; i < events; i++) {
    const p = sigmoid(-2.2 + 1.1 * normal(rng));
    const y = rng.next() < noisyLabels ? (rng.next() < 0.13 ? 1 : 0) : rng.next() < p ? 1 : 0;
    acc.add(p, y);
  }
  return metricsOf(acc);
}

/** `hours` healthy hourly samples starting at `from`, with traffic following a daily cycle. */
function healthyHistory(seed: number, hours: number, from = FROM.getTime()): LearningSample[] {
  const rng = createRng(seed);
  const samples: LearningSample[] = [];
  for (let h = 0; h < hours; h++) {
    const events = Math.round(8000 + 3000 * Math.sin((2 * Math.PI * h) / 24));
    samples.push({ start: from + h * HOUR, metrics: simulateHour(rng, events), unstableMinutes: 0, evaluatedMinutes: 60 });
  }
  return samples;
}

/** Metrics with the given values, for hand-computed cases. */
function metricsWith(calibration: number | null, ne: number | null, positives: number, count: number): StabilityMetrics {
  const ctr = positives / count;
  const entropy = -(ctr * Math.log(ctr) + (1 - ctr) * Math.log1p(-ctr));
  return { count, weight: count, positives, ctr, calibration, logLoss: ne === null ? null : ne * entropy, ne };
}

function sample(hour: number, metrics: StabilityMetrics, unstableMinutes = 0, evaluatedMinutes = 60): LearningSample {
  return { start: FROM.getTime() + hour * HOUR, metrics, unstableMinutes, evaluatedMinutes };
}

function inBand(t: TaskThresholds, calibration: number): boolean {
  return calibration >= t.calibration.min && calibration <= t.calibration.max;
}

function learnedOnly(result: ReturnType<typeof learnThresholds>, task: string): TaskThresholds {
  const t = result.thresholds[task];
  assert.ok(t, `no thresholds learned for ${task}: ${result.skipped[task] ?? ''}`);
  assert.deepEqual(TaskThresholdsSchema.parse(t), t, 'learned thresholds must be valid registry thresholds as they are');
  return t;
}

const HISTORY = healthyHistory(1, 14 * 24);

test('synthetic healthy history: the band holds every healthy hour and rejects 1.3x miscalibration and noisy labels', () => {
  const result = learnThresholds({ tasks: { PLIKE: HISTORY }, from: FROM, to: TO, now: NOW });
  assert.deepEqual(result.skipped, {});
  const t = learnedOnly(result, 'PLIKE');
  assert.equal(t.source, 'learned');

  for (const s of HISTORY) {
    assert.ok(inBand(t, s.metrics.calibration!), `healthy calibration ${s.metrics.calibration} outside [${t.calibration.min}, ${t.calibration.max}]`);
    assert.ok(s.metrics.ne! <= t.neMax, `healthy NE ${s.metrics.ne} above ${t.neMax}`);
    // 1.3x over-prediction, and the same under-prediction, fall outside the band in every hour.
    assert.ok(s.metrics.calibration! * 1.3 > t.calibration.max, `1.3x of ${s.metrics.calibration} inside the band`);
    assert.ok(s.metrics.calibration! / 1.3 < t.calibration.min, `1/1.3x of ${s.metrics.calibration} inside the band`);
  }
  // Hours the band was not learned from (another seed) are healthy too.
  for (const s of healthyHistory(2, 100)) {
    assert.ok(inBand(t, s.metrics.calibration!) && s.metrics.ne! <= t.neMax, `fresh healthy hour outside: ${JSON.stringify(s.metrics)}`);
  }
  // 30% of the labels unrelated to the prediction: NE breaches the ceiling.
  const rng = createRng(3);
  for (let i = 0; i < 5; i++) {
    const noisy = simulateHour(rng, 8000, 0.3);
    assert.ok(noisy.ne! > t.neMax, `noisy-labels NE ${noisy.ne} not above ${t.neMax}`);
  }

  // The volumes of this history are well above the caps, so the caps apply.
  assert.equal(t.minPositives, 100);
  assert.equal(t.minCount, 1000);
  assert.equal(t.basis?.windows, 336);
  assert.equal(t.basis?.excludedWindows, 0);
  assert.equal(t.basis?.from, '2025-11-01T00:00:00.000Z');
  assert.equal(t.basis?.to, '2025-11-15T00:00:00.000Z');
  assert.equal(t.basis?.learnedAt, '2025-11-15T00:05:00.000Z');
  assert.match(t.basis?.method ?? '', /^robust: ln\(calibration\) median ± 4σ \(at least ± ln 1\.1\), NE median \+ 4σ \(at least \+5%\), σ = 1\.4826·MAD; 336 hourly windows$/);
  assert.ok(Math.abs(t.basis!.calibrationMedian! - 1) < 0.02, `calibration median ${t.basis?.calibrationMedian} near 1`);
  assert.deepEqual(result.windowCounts.PLIKE, { considered: 336, healthy: 336, unstable: 0, sparse: 0 });
});

test('unstable periods are left out: a faulty stretch marked unstable does not widen the band', () => {
  const rng = createRng(4);
  // Two days of a broken feature: 1.5x over-prediction, worse NE, all marked unstable.
  const faulty: LearningSample[] = [];
  for (let h = 0; h < 48; h++) {
    const m = simulateHour(rng, 8000, 0.3);
    faulty.push({ start: FROM.getTime() + (100 + h) * HOUR, metrics: { ...m, calibration: m.calibration! * 1.5 }, unstableMinutes: 60, evaluatedMinutes: 60 });
  }
  // An hour unstable for only 5 minutes is tainted as well.
  const partly = { ...sample(200, metricsWith(2, 1.2, 500, 4000)), unstableMinutes: 5 };
  const clean = learnedOnly(learnThresholds({ tasks: { PLIKE: HISTORY }, from: FROM, to: TO, now: NOW }), 'PLIKE');
  const withFault = learnThresholds({ tasks: { PLIKE: [...HISTORY, ...faulty, partly] }, from: FROM, to: TO, now: NOW });
  const t = learnedOnly(withFault, 'PLIKE');
  assert.deepEqual({ ...t, basis: undefined }, { ...clean, basis: undefined });
  assert.equal(t.basis?.windows, 336);
  assert.equal(t.basis?.excludedWindows, 49);
  assert.deepEqual(withFault.windowCounts.PLIKE, { considered: 385, healthy: 336, unstable: 49, sparse: 0 });

  // The same stretch not marked unstable (say, the model had no thresholds yet) would widen it.
  const unmarked = faulty.map((s) => ({ ...s, unstableMinutes: 0, evaluatedMinutes: 0 }));
  const widened = learnedOnly(learnThresholds({ tasks: { PLIKE: [...HISTORY, ...unmarked] }, from: FROM, to: TO, now: NOW }), 'PLIKE');
  assert.ok(widened.calibration.max > clean.calibration.max, `${widened.calibration.max} vs ${clean.calibration.max}`);
  assert.ok(widened.neMax > clean.neMax);
  // Robust statistics keep even that from swallowing the fault: the faulty hours stay outside.
  assert.ok(unmarked.every((s) => !inBand(widened, s.metrics.calibration!)));
});

test('hand-computed band, NE ceiling and volume minimums (never-evaluated history counts as healthy)', () => {
  const samples: LearningSample[] = [];
  for (let i = 0; i < 24; i++) {
    const up = i % 2 === 0;
    const positives = 60 + i;
    // Half the hours from before the model had thresholds: never evaluated, so never unstable.
    samples.push(sample(i, metricsWith(Math.exp(up ? 0.02 : -0.02), up ? 0.8 : 0.84, positives, positives * 10), 0, i < 12 ? 0 : 60));
  }
  const result = learnThresholds({ tasks: { PCOMMENT: samples }, from: FROM, to: TO, now: NOW });
  const t = learnedOnly(result, 'PCOMMENT');
  // ln(calibration): median 0, MAD 0.02, sigma 1.4826 * 0.02 = 0.029652, 4 sigma = 0.118608 > ln 1.1.
  // exp(-0.118608) = 0.888155..., rounded down to 0.8881; exp(0.118608) = 1.125928..., rounded up to 1.126.
  assert.deepEqual(t.calibration, { min: 0.8881, max: 1.126 });
  // NE: median 0.82, MAD 0.02, ceiling 0.82 + 0.118608 = 0.938608, rounded up to 0.9387.
  assert.equal(t.neMax, 0.9387);
  // Positives 60..83: the 10th percentile is 62 + 0.3 * (63 - 62) = 62.3, so 62 (under the cap of 100).
  assert.equal(t.minPositives, 62);
  // Counts 600..830: the 10th percentile is 623, between the floor of 100 and the cap of 1000.
  assert.equal(t.minCount, 623);
  assert.equal(t.basis?.calibrationMedian, 1);
  assert.equal(t.basis?.neMedian, 0.82);
  assert.equal(t.basis?.windows, 24);

  // Judged over 15-minute windows, a quarter of an hour's volume: 62.3 / 4 = 15.6 positives, raised to the
  // floor of 20; 623 / 4 = 155.75 events, so 155.
  const quarter = learnedOnly(learnThresholds({ tasks: { PCOMMENT: samples }, from: FROM, to: TO, now: NOW, options: { evaluationWindowMinutes: 15 } }), 'PCOMMENT');
  assert.equal(quarter.minPositives, 20);
  assert.equal(quarter.minCount, 155);
  assert.deepEqual(quarter.calibration, t.calibration);

  // A narrower k makes the minimum half-width (ln 1.1) the binding one.
  const narrow = learnedOnly(learnThresholds({ tasks: { PCOMMENT: samples }, from: FROM, to: TO, now: NOW, options: { calibrationK: 2, neK: 1 } }), 'PCOMMENT');
  assert.deepEqual(narrow.calibration, { min: 0.909, max: 1.1 });
  // 0.82 + 1 sigma = 0.849652 is below 0.82 * 1.05 = 0.861, so the 5% margin binds.
  assert.equal(narrow.neMax, 0.861);
  assert.match(narrow.basis?.method ?? '', /median ± 2σ .* NE median \+ 1σ/);
});

test('a perfectly constant history gets the minimum width, not a zero-width band', () => {
  const samples = Array.from({ length: 30 }, (_, i) => sample(i, metricsWith(1, 0.8, 500, 5000)));
  const t = learnedOnly(learnThresholds({ tasks: { PLIKE: samples }, from: FROM, to: TO, now: NOW }), 'PLIKE');
  // exp(± ln 1.1) = [0.90909..., 1.1]: rounded outward to 4 significant digits; NE 0.8 * 1.05 = 0.84.
  assert.deepEqual(t.calibration, { min: 0.909, max: 1.1 });
  assert.equal(t.neMax, 0.84);
  assert.equal(t.minPositives, 100);
  assert.equal(t.minCount, 1000);
  // A constant calibration away from 1 is centred on itself: the band is relative to the history.
  const biased = Array.from({ length: 30 }, (_, i) => sample(i, metricsWith(0.002, 0.95, 500, 5000)));
  const b = learnedOnly(learnThresholds({ tasks: { PLIKE: biased }, from: FROM, to: TO, now: NOW }), 'PLIKE');
  assert.deepEqual(b.calibration, { min: 0.001818, max: 0.0022 });
  assert.equal(b.neMax, 0.9975);
});

test('too little data: the task is skipped with counts and what is needed; other tasks still learn', () => {
  const few: LearningSample[] = [
    ...Array.from({ length: 20 }, (_, i) => sample(i, metricsWith(1, 0.8, 500, 5000))),
    ...Array.from({ length: 5 }, (_, i) => sample(20 + i, metricsWith(1, 0.8, 10, 5000))),
    sample(25, metricsWith(null, null, 100, 100)),
    ...Array.from({ length: 3 }, (_, i) => sample(26 + i, metricsWith(1.6, 0.9, 500, 5000), 60)),
    // Outside [from, to): ignored, not counted.
    ...Array.from({ length: 30 }, (_, i) => ({ ...sample(0, metricsWith(1, 0.8, 500, 5000)), start: FROM.getTime() - (i + 1) * HOUR })),
    { ...sample(0, metricsWith(1, 0.8, 500, 5000)), start: TO.getTime() },
  ];
  const result = learnThresholds({ tasks: { PFOLLOW: few, PLIKE: HISTORY, PSHARE: [] }, from: FROM, to: TO, now: NOW });
  assert.deepEqual(Object.keys(result.thresholds), ['PLIKE']);
  assert.equal(
    result.skipped.PFOLLOW,
    'only 20 healthy hourly windows between 2025-11-01T00:00:00.000Z and 2025-11-15T00:00:00.000Z, 24 needed ' +
      '(of 29: 3 left out as unstable, 6 with fewer than 50 positives or undefined calibration or NE): ' +
      'learn over more days once there is more traffic, or set thresholds by hand',
  );
  assert.match(result.skipped.PSHARE ?? '', /^no hourly windows between .*: nothing to learn from/);
  assert.deepEqual(result.windowCounts.PFOLLOW, { considered: 29, healthy: 20, unstable: 3, sparse: 6 });

  // With minSamples lowered to what there is, the same history learns.
  const lowered = learnThresholds({ tasks: { PFOLLOW: few }, from: FROM, to: TO, now: NOW, options: { minSamples: 20 } });
  assert.equal(learnedOnly(lowered, 'PFOLLOW').basis?.excludedWindows, 9);
});

test('invalid options, dates and samples are refused', () => {
  const tasks = { PLIKE: HISTORY };
  assert.throws(() => learnThresholds({ tasks, from: FROM, to: TO, now: NOW, options: { calibrationK: -1 } }));
  assert.throws(() => learnThresholds({ tasks, from: FROM, to: TO, now: NOW, options: { minSampels: 3 } as never }));
  assert.throws(() => learnThresholds({ tasks, from: FROM, to: TO, now: NOW, options: { minPositivesFloor: 200 } }), /minPositivesFloor must not exceed minPositivesCeiling/);
  assert.throws(() => learnThresholds({ tasks, from: TO, to: FROM, now: NOW }), /must be before/);
  assert.throws(() => learnThresholds({ tasks, from: new Date(Number.NaN), to: TO, now: NOW }), /from must be a valid Date/);
  const bad = { ...sample(0, metricsWith(1, 0.8, 500, 5000)), unstableMinutes: 70, evaluatedMinutes: 60 };
  assert.throws(() => learnThresholds({ tasks: { PLIKE: [bad] }, from: FROM, to: TO, now: NOW }), /task PLIKE: .*unstableMinutes <= evaluatedMinutes/);
  const nan = { ...sample(0, metricsWith(1, 0.8, 500, 5000)), unstableMinutes: Number.NaN };
  assert.throws(() => learnThresholds({ tasks: { PLIKE: [nan] }, from: FROM, to: TO, now: NOW }), RangeError);
});
