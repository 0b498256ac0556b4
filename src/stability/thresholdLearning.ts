import { z } from 'zod';
import type { TaskThresholds } from '../registry/model.js';
import type { StabilityMetrics } from './metrics.js';

/**
 * Learns a task's stability thresholds from its own healthy history, so a fleet of hundreds of models
 * does not need hundreds of hand-tuned bands. The store's hourly rollups come in; a calibration band, an
 * NE ceiling and the minimum volume to judge a window come out, with the basis that explains them.
 *
 * Robust statistics (median and MAD) rather than mean and standard deviation: the history is mostly
 * healthy but not entirely, and a few bad hours that slipped past the "not unstable" filter (a model
 * without thresholds yet was never judged) must not drag the band out to include them.
 */

/** One hourly rollup of one task, as the store keeps it. */
export interface LearningSample {
  /** Epoch ms of the start of the rollup period. */
  start: number;
  /** The task's metrics over the period. */
  metrics: StabilityMetrics;
  /** Minutes of the period the model was judged unstable. */
  unstableMinutes: number;
  /** Minutes of the period the model was judged at all (stable or unstable). */
  evaluatedMinutes: number;
}

/** Scales the median absolute deviation to the standard deviation of a normal distribution. */
export const MAD_TO_SIGMA = 1.4826;

/** The learning method's parameters; every one has a default, so `{}` is the standard method. */
export const LearnOptionsSchema = z
  .object({
    sampleMinutes: z.number().int().positive().default(60).describe('length of one rollup period: the store keeps hourly rollups'),
    // The band itself is not rescaled: it assumes windows about as long as the rollups, where sampling
    // noise matches what was learned. Shorter windows are noisier and would want a wider band.
    evaluationWindowMinutes: z.number().int().positive().default(60).describe('length of the window the thresholds will judge; scales the volume minimums'),
    minPositivesPerSample: z.number().nonnegative().default(50).describe('fewer positives in a rollup period: too noisy to learn from'),
    minSamples: z.number().int().positive().default(24).describe('fewer healthy periods: the task is skipped'),
    calibrationK: z.number().positive().default(4).describe('half-width of the band on ln(calibration), in robust standard deviations'),
    minCalibrationHalfWidth: z.number().nonnegative().default(Math.log(1.1)).describe('the band on ln(calibration) is at least this wide on each side'),
    neK: z.number().positive().default(4).describe('NE ceiling above the median, in robust standard deviations'),
    minNeMargin: z.number().nonnegative().default(0.05).describe('the NE ceiling is at least this fraction above the median'),
    volumePercentile: z.number().gt(0).lt(1).default(0.1).describe('the volume minimums are met by about 1 - this share of healthy windows'),
    minPositivesFloor: z.number().int().nonnegative().default(20),
    minPositivesCeiling: z.number().int().nonnegative().default(100),
    minCountFloor: z.number().int().nonnegative().default(100),
    minCountCeiling: z.number().int().nonnegative().default(1000),
  })
  .strict()
  .refine((o) => o.minPositivesFloor <= o.minPositivesCeiling, { message: 'minPositivesFloor must not exceed minPositivesCeiling', path: ['minPositivesFloor'] })
  .refine((o) => o.minCountFloor <= o.minCountCeiling, { message: 'minCountFloor must not exceed minCountCeiling', path: ['minCountFloor'] });
export type LearnOptions = z.input<typeof LearnOptionsSchema>;
type ResolvedOptions = z.output<typeof LearnOptionsSchema>;

/** What {@link learnThresholds} learns from. */
export interface LearnInput {
  /** Rollups per task; periods starting outside [from, to) are ignored. */
  tasks: Readonly<Record<string, readonly LearningSample[]>>;
  from: Date;
  to: Date;
  /** When the thresholds are learned; recorded in the basis. */
  now: Date;
  options?: LearnOptions;
}

/** How one task's periods were sorted. */
export interface LearningWindowCounts {
  /** Periods starting in [from, to). */
  considered: number;
  /** Used to learn. */
  healthy: number;
  /** Left out: the model was unstable for at least a minute. */
  unstable: number;
  /** Left out: too few positives, or calibration or NE undefined. */
  sparse: number;
}

/** Learned thresholds, skipped tasks and how each task's history was used. */
export interface LearnResult {
  /** Learned thresholds per task, ready to write to the registry (source 'learned', with their basis). */
  thresholds: Record<string, TaskThresholds>;
  /** Tasks that could not be learned, with the reason and what to do about it. */
  skipped: Record<string, string>;
  /** Per task, how its periods were used. */
  windowCounts: Record<string, LearningWindowCounts>;
}

/**
 * Learns thresholds for every task from its healthy history. Pure: the caller reads the rollups and
 * writes the result. Throws ZodError on invalid options and RangeError on invalid dates or samples.
 */
export function learnThresholds(input: LearnInput): LearnResult {
  const options = LearnOptionsSchema.parse(input.options ?? {});
  const fromMs = checkedTime(input.from, 'from');
  const toMs = checkedTime(input.to, 'to');
  checkedTime(input.now, 'now');
  if (!(fromMs < toMs)) throw new RangeError(`from (${input.from.toISOString()}) must be before to (${input.to.toISOString()})`);

  const result: LearnResult = { thresholds: {}, skipped: {}, windowCounts: {} };
  for (const [task, samples] of Object.entries(input.tasks)) {
    const healthy: LearningSample[] = [];
    const counts: LearningWindowCounts = { considered: 0, healthy: 0, unstable: 0, sparse: 0 };
    for (const sample of samples) {
      checkSample(task, sample);
      if (sample.start < fromMs || sample.start >= toMs) continue;
      counts.considered += 1;
      const kind = classify(sample, options);
      counts[kind] += 1;
      if (kind === 'healthy') healthy.push(sample);
    }
    result.windowCounts[task] = counts;
    const reason = skipReason(counts, options, input.from, input.to);
    if (reason) result.skipped[task] = reason;
    else result.thresholds[task] = learnTask(healthy, counts, options, input);
  }
  return result;
}

function classify(sample: LearningSample, o: ResolvedOptions): 'healthy' | 'unstable' | 'sparse' {
  // Any unstable minute taints the hour: a partly broken hour still pulls the band towards the fault.
  // A model that was never judged (no thresholds yet) has no unstable minutes, so its history counts.
  if (sample.unstableMinutes > 0) return 'unstable';
  const m = sample.metrics;
  if (m.positives < o.minPositivesPerSample) return 'sparse';
  if (m.calibration === null || !(m.calibration > 0) || !Number.isFinite(m.calibration)) return 'sparse';
  if (m.ne === null || !Number.isFinite(m.ne)) return 'sparse';
  return 'healthy';
}

function skipReason(counts: LearningWindowCounts, o: ResolvedOptions, from: Date, to: Date): string | null {
  const span = `between ${from.toISOString()} and ${to.toISOString()}`;
  const unit = periodName(o.sampleMinutes);
  if (counts.considered === 0) return `no ${unit} windows ${span}: nothing to learn from; send labeled predictions or set thresholds by hand`;
  if (counts.healthy >= o.minSamples) return null;
  return (
    `only ${counts.healthy} healthy ${unit} windows ${span}, ${o.minSamples} needed ` +
    `(of ${counts.considered}: ${counts.unstable} left out as unstable, ${counts.sparse} with fewer than ${o.minPositivesPerSample} positives or undefined calibration or NE): ` +
    'learn over more days once there is more traffic, or set thresholds by hand'
  );
}

function learnTask(healthy: readonly LearningSample[], counts: LearningWindowCounts, o: ResolvedOptions, input: LearnInput): TaskThresholds {
  // Calibration is a ratio: 0.8 and 1.25 are equally far from 1. On the log scale the band is symmetric
  // in that sense and the hourly noise is close to normal, which is what MAD-to-sigma assumes.
  const lnCalibration = healthy.map((s) => Math.log(s.metrics.calibration as number));
  const center = median(lnCalibration);
  const calibrationSigma = MAD_TO_SIGMA * medianAbsoluteDeviation(lnCalibration, center);
  // The minimum width keeps a very steady history from producing a band so tight that ordinary noise
  // in a quieter window pages someone.
  const halfWidth = Math.max(o.calibrationK * calibrationSigma, o.minCalibrationHalfWidth);

  // NE only has a ceiling: a lower NE is a better model, never a reason to page.
  const ne = healthy.map((s) => s.metrics.ne as number);
  const neMedian = median(ne);
  const neSigma = MAD_TO_SIGMA * medianAbsoluteDeviation(ne, neMedian);
  const neMax = Math.max(neMedian + o.neK * neSigma, neMedian * (1 + o.minNeMargin));

  // The volume minimums follow the history: a threshold most healthy windows meet (so the SLO judges
  // about 90% of ordinary windows instead of calling them insufficient data), capped so a busy task
  // is not held to more data than a stable estimate needs, and floored because calibration on fewer
  // than ~20 positives swings by more than 20% from noise alone.
  const scale = o.evaluationWindowMinutes / o.sampleMinutes;
  const positives = percentile(healthy.map((s) => s.metrics.positives * scale), o.volumePercentile);
  const events = percentile(healthy.map((s) => s.metrics.count * scale), o.volumePercentile);
  const minPositives = clamp(Math.floor(positives), o.minPositivesFloor, o.minPositivesCeiling);
  const minCount = clamp(Math.floor(events), o.minCountFloor, o.minCountCeiling);

  return {
    calibration: {
      min: roundSignificant(Math.exp(center - halfWidth), 'down'),
      max: roundSignificant(Math.exp(center + halfWidth), 'up'),
    },
    neMax: roundDecimals(neMax, 4, 'up'),
    minPositives,
    minCount,
    source: 'learned',
    basis: {
      method: methodOf(o, counts.healthy),
      from: input.from.toISOString(),
      to: input.to.toISOString(),
      windows: counts.healthy,
      excludedWindows: counts.unstable + counts.sparse,
      calibrationMedian: Number(Math.exp(center).toPrecision(6)),
      neMedian: Number(neMedian.toPrecision(6)),
      learnedAt: input.now.toISOString(),
    },
  };
}

function methodOf(o: ResolvedOptions, windows: number): string {
  const n = (x: number) => String(Number(x.toPrecision(4)));
  const method =
    `robust: ln(calibration) median ± ${n(o.calibrationK)}σ (at least ± ln ${n(Math.exp(o.minCalibrationHalfWidth))}), ` +
    `NE median + ${n(o.neK)}σ (at least +${n(o.minNeMargin * 100)}%), σ = ${MAD_TO_SIGMA}·MAD; ${windows} ${periodName(o.sampleMinutes)} windows`;
  // The basis schema caps the method at 200 characters; only absurd option values could get there.
  return method.slice(0, 200);
}

const periodName = (minutes: number): string => (minutes === 60 ? 'hourly' : `${minutes}-minute`);

function checkedTime(date: Date, name: string): number {
  const ms = date instanceof Date ? date.getTime() : Number.NaN;
  if (!Number.isFinite(ms)) throw new RangeError(`${name} must be a valid Date`);
  return ms;
}

function checkSample(task: string, s: LearningSample): void {
  const ok =
    Number.isFinite(s.start) &&
    Number.isFinite(s.unstableMinutes) &&
    Number.isFinite(s.evaluatedMinutes) &&
    s.unstableMinutes >= 0 &&
    s.unstableMinutes <= s.evaluatedMinutes;
  // A malformed rollup must not be silently read as a healthy hour.
  if (!ok) {
    throw new RangeError(
      `task ${task}: a sample needs a finite start and 0 <= unstableMinutes <= evaluatedMinutes; got start ${s.start}, unstableMinutes ${s.unstableMinutes}, evaluatedMinutes ${s.evaluatedMinutes}`,
    );
  }
}

/** Median of a non-empty list (the mean of the middle two for an even count). */
function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function medianAbsoluteDeviation(values: readonly number[], center: number): number {
  return median(values.map((v) => Math.abs(v - center)));
}

/** The q-quantile of a non-empty list, interpolating linearly between order statistics (R's type 7). */
function percentile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const below = sorted[lo] as number;
  const above = sorted[Math.min(lo + 1, sorted.length - 1)] as number;
  return below + (h - lo) * (above - below);
}

const clamp = (x: number, lo: number, hi: number): number => Math.max(lo, Math.min(hi, x));

/**
 * Rounds a positive number to 4 significant digits, outward in `direction`. Significant digits rather
 * than decimals so a tiny calibration's lower bound stays positive.
 */
function roundSignificant(x: number, direction: 'up' | 'down'): number {
  let exponent = Math.floor(Math.log10(x));
  // log10 is not exact at powers of ten (log10(1000) may come out as 2.9999999999999996).
  if (10 ** (exponent + 1) <= x) exponent += 1;
  else if (10 ** exponent > x) exponent -= 1;
  return roundDecimals(x, 3 - exponent, direction);
}

/** Rounds to `decimals` places (negative: tens, hundreds...), towards `direction`. */
function roundDecimals(x: number, decimals: number, direction: 'up' | 'down'): number {
  // Dividing by an exact power of ten for negative places avoids the inexact 10 ** -k.
  const scaled = decimals >= 0 ? x * 10 ** decimals : x / 10 ** -decimals;
  const nearest = Math.round(scaled);
  // Scaling carries rounding noise (1.1 * 1e4 is 11000.000000000002): a value within that noise of a
  // grid point is on it, so 1.1 stays 1.1 rather than becoming 1.101.
  const onGrid = Math.abs(scaled - nearest) <= 1e-9 * Math.max(1, Math.abs(scaled));
  const n = onGrid ? nearest : direction === 'up' ? Math.ceil(scaled) : Math.floor(scaled);
  return decimals >= 0 ? n / 10 ** decimals : n * 10 ** -decimals;
}
