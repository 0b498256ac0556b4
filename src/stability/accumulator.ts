import { z } from 'zod';

/** Lower/upper bound applied to a predicted probability before taking its log, so log loss stays finite. */
export const P_EPSILON = 1e-15;

/**
 * A compensated running sum: `sum + compensation` is the value. Stored as a pair (not collapsed) so a
 * snapshot can be merged later without losing the low-order bits.
 */
export const compensatedSumSchema = z.tuple([z.number().finite(), z.number().finite()]);
export type CompensatedSum = z.infer<typeof compensatedSumSchema>;

/** Plain-data form of an {@link Accumulator}: JSON-safe, storable, mergeable. */
export const accumulatorSnapshotSchema = z.strictObject({
  version: z.literal(1),
  count: z.number().int().nonnegative(),
  weight: compensatedSumSchema,
  positives: compensatedSumSchema,
  weightedP: compensatedSumSchema,
  weightedLogLoss: compensatedSumSchema,
});
export type AccumulatorSnapshot = z.infer<typeof accumulatorSnapshotSchema>;

/** Neumaier's step: adds `x` to the pair in place. Unlike plain Kahan it stays exact when |x| > |sum|. */
function addTo(acc: [number, number], x: number): void {
  const s = acc[0];
  const t = s + x;
  acc[1] += Math.abs(s) >= Math.abs(x) ? s - t + x : x - t + s;
  acc[0] = t;
}

function valueOf(acc: readonly [number, number]): number {
  return acc[0] + acc[1];
}

/** Log loss of one prediction, with p clamped to [P_EPSILON, 1 - P_EPSILON]. */
export function logLossOf(p: number, y: number): number {
  const pc = Math.min(Math.max(p, P_EPSILON), 1 - P_EPSILON);
  // log1p keeps precision for the common case of small p on negatives.
  const pos = y === 0 ? 0 : y * Math.log(pc);
  const neg = y === 1 ? 0 : (1 - y) * Math.log1p(-pc);
  return -(pos + neg);
}

/**
 * Mergeable sums of labeled predictions for one (model, task[, window]). Every sum is compensated so
 * long windows and many merges keep full double precision.
 */
export class Accumulator {
  private countValue = 0;
  private readonly weightSum: [number, number] = [0, 0];
  private readonly positiveSum: [number, number] = [0, 0];
  private readonly weightedPSum: [number, number] = [0, 0];
  private readonly weightedLogLossSum: [number, number] = [0, 0];

  /**
   * Adds one labeled prediction. `p` in [0, 1] (clamped for log loss only), `y` in [0, 1] (usually 0 or 1),
   * `w` a finite non-negative weight. Throws RangeError otherwise: a bad event must not silently skew an SLO.
   */
  add(p: number, y: number, w = 1): this {
    if (!Number.isFinite(p) || p < 0 || p > 1) throw new RangeError(`prediction p must be a number in [0, 1], got ${p}`);
    if (!Number.isFinite(y) || y < 0 || y > 1) throw new RangeError(`label y must be a number in [0, 1], got ${y}`);
    if (!Number.isFinite(w) || w < 0) throw new RangeError(`weight w must be a finite number >= 0, got ${w}`);
    this.countValue += 1;
    addTo(this.weightSum, w);
    addTo(this.positiveSum, w * y);
    addTo(this.weightedPSum, w * p);
    addTo(this.weightedLogLossSum, w * logLossOf(p, y));
    return this;
  }

  /**
   * Adds the labeled predictions `from` (inclusive) to `to` (exclusive) of columnar arrays: the hot path
   * of ingestion, faster than calling {@link add} on each element (see bench/stability.ts), with the same
   * sums (bit for bit with unit weights and labels of 0 or 1 on a fresh or unweighted accumulator; up to
   * rounding otherwise).
   *
   * Precondition: the caller has already validated every value in the range, as {@link add} would
   * (`p` in [0, 1], `y` in [0, 1], and 0 or 1 when `y` is a Uint8Array, `w` finite and >= 0): nothing
   * is checked per element, so a NaN here poisons the sums. Only the shape is checked: the arrays must
   * be equally long and the range inside them, or it throws RangeError.
   *
   * @param p predicted probabilities; a Float64Array is fastest.
   * @param y labels; a Uint8Array of 0 and 1 is fastest (its positives are counted exactly, without
   *   compensation), a Float64Array or plain array works too.
   * @param w optional weights; every weight is 1 without them, and the no-weight loop is the faster one.
   */
  addColumns(p: ArrayLike<number>, y: ArrayLike<number>, w?: ArrayLike<number>, from = 0, to: number = p.length): this {
    if (y.length !== p.length) throw new RangeError(`p and y must be equally long, got ${p.length} and ${y.length}`);
    if (w !== undefined && w.length !== p.length) throw new RangeError(`p and w must be equally long, got ${p.length} and ${w.length}`);
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 0 || to > p.length || from > to) {
      throw new RangeError(`range [${from}, ${to}) must lie within the ${p.length} elements`);
    }
    if (from === to) return this;
    const s = SCRATCH;
    s[0] = this.weightSum[0];
    s[1] = this.weightSum[1];
    s[2] = this.positiveSum[0];
    s[3] = this.positiveSum[1];
    s[4] = this.weightedPSum[0];
    s[5] = this.weightedPSum[1];
    s[6] = this.weightedLogLossSum[0];
    s[7] = this.weightedLogLossSum[1];
    if (w !== undefined) sumWeighted(p, y, w, from, to);
    else if (y instanceof Uint8Array) sumBinaryLabels(p, y, from, to);
    else sumUnitWeights(p, y, from, to);
    this.weightSum[0] = s[0]!;
    this.weightSum[1] = s[1]!;
    this.positiveSum[0] = s[2]!;
    this.positiveSum[1] = s[3]!;
    this.weightedPSum[0] = s[4]!;
    this.weightedPSum[1] = s[5]!;
    this.weightedLogLossSum[0] = s[6]!;
    this.weightedLogLossSum[1] = s[7]!;
    this.countValue += to - from;
    return this;
  }

  /** Adds another accumulator's sums into this one (the other is unchanged). Order-insensitive up to rounding. */
  merge(other: Accumulator | AccumulatorSnapshot): this {
    const o = other instanceof Accumulator ? other.snapshot() : accumulatorSnapshotSchema.parse(other);
    this.countValue += o.count;
    mergeInto(this.weightSum, o.weight);
    mergeInto(this.positiveSum, o.positives);
    mergeInto(this.weightedPSum, o.weightedP);
    mergeInto(this.weightedLogLossSum, o.weightedLogLoss);
    return this;
  }

  get count(): number {
    return this.countValue;
  }
  /** Sum of w. */
  get weight(): number {
    return valueOf(this.weightSum);
  }
  /** Sum of w*y. */
  get positives(): number {
    return valueOf(this.positiveSum);
  }
  /** Sum of w*p. */
  get weightedP(): number {
    return valueOf(this.weightedPSum);
  }
  /** Sum of w*logloss. */
  get weightedLogLoss(): number {
    return valueOf(this.weightedLogLossSum);
  }

  snapshot(): AccumulatorSnapshot {
    return {
      version: 1,
      count: this.countValue,
      weight: [...this.weightSum],
      positives: [...this.positiveSum],
      weightedP: [...this.weightedPSum],
      weightedLogLoss: [...this.weightedLogLossSum],
    };
  }

  /** Rebuilds an accumulator from a snapshot; validates it (throws ZodError on malformed data). */
  static fromSnapshot(snapshot: unknown): Accumulator {
    return new Accumulator().merge(accumulatorSnapshotSchema.parse(snapshot));
  }
}

function mergeInto(acc: [number, number], other: readonly [number, number]): void {
  // Carry both halves through the compensated step so the other side's low-order bits survive.
  addTo(acc, other[0]);
  addTo(acc, other[1]);
}

// The columnar loops of Accumulator.addColumns: addTo and logLossOf written out by hand, so nothing is
// called per element but Math.log/log1p and the sums stay in registers for the whole range.
//
// - The sums travel in and out through SCRATCH, a Float64Array, rather than being read from the
//   accumulator's arrays inside the loop: those start as small-integer arrays ([0, 0]) and turn into
//   double arrays on the first write, and V8 compiled a loop seeded from either kind with boxed numbers,
//   at less than half the speed.
// - The compensation is Knuth's TwoSum rather than addTo's Neumaier branch: both give the exact
//   rounding error of each addition, so the bits are the same, but TwoSum has no data-dependent branch.
//   That branch is rarely taken (only while a sum is still smaller than what is added), so V8 compiled
//   it without type feedback and deoptimised the loop each time a fresh accumulator took it.
// - The loss is computed in logLossOf's order, for the same bits.
// Slots: weight, positives, weighted p, weighted log loss; each a (sum, compensation) pair.
const SCRATCH = new Float64Array(8);
const ONE_MINUS_EPSILON = 1 - P_EPSILON;

/** Unit weights, labels 0 or 1 in a Uint8Array: the positives are an exact integer count. */
function sumBinaryLabels(p: ArrayLike<number>, y: Uint8Array, from: number, to: number): void {
  const s = SCRATCH;
  let positives = 0;
  let ps = s[4]!;
  let pc = s[5]!;
  let ls = s[6]!;
  let lc = s[7]!;
  for (let i = from; i < to; i++) {
    const pi = p[i]!;
    const yi = y[i]!;
    positives += yi;
    let t = ps + pi;
    let z = t - ps;
    pc += ps - (t - z) + (pi - z);
    ps = t;
    const q = pi < P_EPSILON ? P_EPSILON : pi > ONE_MINUS_EPSILON ? ONE_MINUS_EPSILON : pi;
    const loss = yi !== 0 ? -Math.log(q) : -Math.log1p(-q);
    t = ls + loss;
    z = t - ls;
    lc += ls - (t - z) + (loss - z);
    ls = t;
  }
  s[4] = ps;
  s[5] = pc;
  s[6] = ls;
  s[7] = lc;
  // Counts of unit weights and of 0/1 labels are exact integers (below 2^53): one step adds each.
  twoSumInto(0, to - from);
  twoSumInto(2, positives);
}

/** Unit weights, labels of any numeric array (fractional labels allowed). */
function sumUnitWeights(p: ArrayLike<number>, y: ArrayLike<number>, from: number, to: number): void {
  const s = SCRATCH;
  let ys = s[2]!;
  let yc = s[3]!;
  let ps = s[4]!;
  let pc = s[5]!;
  let ls = s[6]!;
  let lc = s[7]!;
  for (let i = from; i < to; i++) {
    const pi = p[i]!;
    const yi = y[i]!;
    let t = ys + yi;
    let z = t - ys;
    yc += ys - (t - z) + (yi - z);
    ys = t;
    t = ps + pi;
    z = t - ps;
    pc += ps - (t - z) + (pi - z);
    ps = t;
    const q = pi < P_EPSILON ? P_EPSILON : pi > ONE_MINUS_EPSILON ? ONE_MINUS_EPSILON : pi;
    const loss = yi === 1 ? -Math.log(q) : yi === 0 ? -Math.log1p(-q) : -(yi * Math.log(q) + (1 - yi) * Math.log1p(-q));
    t = ls + loss;
    z = t - ls;
    lc += ls - (t - z) + (loss - z);
    ls = t;
  }
  s[2] = ys;
  s[3] = yc;
  s[4] = ps;
  s[5] = pc;
  s[6] = ls;
  s[7] = lc;
  twoSumInto(0, to - from);
}

function sumWeighted(p: ArrayLike<number>, y: ArrayLike<number>, w: ArrayLike<number>, from: number, to: number): void {
  const s = SCRATCH;
  let ws = s[0]!;
  let wc = s[1]!;
  let ys = s[2]!;
  let yc = s[3]!;
  let ps = s[4]!;
  let pc = s[5]!;
  let ls = s[6]!;
  let lc = s[7]!;
  for (let i = from; i < to; i++) {
    const pi = p[i]!;
    const yi = y[i]!;
    const wi = w[i]!;
    let t = ws + wi;
    let z = t - ws;
    wc += ws - (t - z) + (wi - z);
    ws = t;
    const wy = wi * yi;
    t = ys + wy;
    z = t - ys;
    yc += ys - (t - z) + (wy - z);
    ys = t;
    const wp = wi * pi;
    t = ps + wp;
    z = t - ps;
    pc += ps - (t - z) + (wp - z);
    ps = t;
    const q = pi < P_EPSILON ? P_EPSILON : pi > ONE_MINUS_EPSILON ? ONE_MINUS_EPSILON : pi;
    const wl = wi * (yi === 1 ? -Math.log(q) : yi === 0 ? -Math.log1p(-q) : -(yi * Math.log(q) + (1 - yi) * Math.log1p(-q)));
    t = ls + wl;
    z = t - ls;
    lc += ls - (t - z) + (wl - z);
    ls = t;
  }
  s[0] = ws;
  s[1] = wc;
  s[2] = ys;
  s[3] = yc;
  s[4] = ps;
  s[5] = pc;
  s[6] = ls;
  s[7] = lc;
}

/** Adds `x` to the SCRATCH pair starting at `slot`, keeping its rounding error. */
function twoSumInto(slot: number, x: number): void {
  const s = SCRATCH;
  const sum = s[slot]!;
  const t = sum + x;
  const z = t - sum;
  s[slot + 1]! += sum - (t - z) + (x - z);
  s[slot] = t;
}
