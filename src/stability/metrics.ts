import type { Accumulator } from './accumulator.js';

/** Prediction-quality metrics of one accumulator. Ratios are null where they are undefined. */
export interface StabilityMetrics {
  count: number;
  /** Sum of weights. */
  weight: number;
  /** Weighted sum of labels. */
  positives: number;
  /** positives / weight; null when weight is 0. */
  ctr: number | null;
  /** sum(w*p) / sum(w*y); null without both positives and negatives. */
  calibration: number | null;
  /** Weighted mean log loss; null when weight is 0. */
  logLoss: number | null;
  /** logLoss / entropy(ctr); null without both positives and negatives. */
  ne: number | null;
}

/** Computes calibration, NE and friends from an accumulator's sums. */
export function metricsOf(acc: Accumulator): StabilityMetrics {
  const count = acc.count;
  const weight = acc.weight;
  const positives = acc.positives;
  if (!(weight > 0)) {
    return { count, weight, positives, ctr: null, calibration: null, logLoss: null, ne: null };
  }
  const ctr = positives / weight;
  const logLoss = acc.weightedLogLoss / weight;
  // With only one class the entropy is 0 and calibration's denominator may be 0: both ratios are meaningless.
  const degenerate = !(positives > 0) || !(positives < weight) || ctr <= 0 || ctr >= 1;
  if (degenerate) return { count, weight, positives, ctr, calibration: null, logLoss, ne: null };
  const entropy = -(ctr * Math.log(ctr) + (1 - ctr) * Math.log1p(-ctr));
  return { count, weight, positives, ctr, calibration: acc.weightedP / positives, logLoss, ne: logLoss / entropy };
}
