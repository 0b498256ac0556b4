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
