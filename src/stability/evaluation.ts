import type { TaskThresholds } from '../registry/model.js';
import type { StabilityMetrics } from './metrics.js';

/** How one task of one model fared over the rolling window that ends at an evaluation minute. */
export const TaskStatus = ['ok', 'unstable', 'insufficient_data', 'no_thresholds'] as const;
export type TaskStatus = (typeof TaskStatus)[number];

/** A model is stable iff every task with enough data is; with no judgeable task it is one of the others. */
export const ModelStatus = ['stable', 'unstable', 'insufficient_data', 'unmonitored'] as const;
export type ModelStatus = (typeof ModelStatus)[number];

export interface Band {
  min: number | null;
  max: number | null;
}

/** One metric outside its band. */
export interface Violation {
  metric: 'calibration' | 'ne';
  value: number;
  band: Band;
}

export interface TaskEvaluation {
  task: string;
  status: TaskStatus;
  metrics: StabilityMetrics;
  /** The calibration band and NE ceiling judged against; null without thresholds. */
  band: { calibration: Band; ne: Band } | null;
  violations: Violation[];
  /** Why a task could not be judged, for on-call. */
  reason: string | null;
}

export interface ModelEvaluation {
  modelId: string;
  /** Epoch ms of the minute the window ends at (exclusive). */
  at: number;
  windowMinutes: number;
  status: ModelStatus;
  tasks: TaskEvaluation[];
}

export const DEFAULT_WINDOW_MINUTES = 60;

/**
 * How many standard errors the calibration band's half-width must span before a window is judged.
 * Calibration's relative standard error is about 1/sqrt(positives), so a band of ±12% needs about
 * (3 / 0.12)^2 = 625 positives; with fewer, sampling noise alone would cross it and page someone.
 */
export const JUDGE_Z = 3;

/** Positives a window needs before its calibration can be judged against `band`. */
export function positivesToJudge(band: { min: number; max: number }, minPositives: number): number {
  const halfWidth = Math.log(band.max / band.min) / 2;
  const statistical = halfWidth > 0 ? Math.ceil((JUDGE_Z / halfWidth) ** 2) : Infinity;
  return Math.max(minPositives, statistical);
}

/**
 * Judges one task's window metrics against its thresholds. Too few events or positives is
 * insufficient data: never unstable, always shown, so a quiet hour cannot page anyone.
 */
export function evaluateTask(task: string, metrics: StabilityMetrics, thresholds: TaskThresholds | undefined): TaskEvaluation {
  if (!thresholds) return { task, status: 'no_thresholds', metrics, band: null, violations: [], reason: 'no thresholds on this task: set them or learn them' };
  const band = { calibration: { min: thresholds.calibration.min, max: thresholds.calibration.max }, ne: { min: null, max: thresholds.neMax } };
  const minCount = thresholds.minCount ?? 0;
  if (metrics.count === 0 || metrics.count < minCount) {
    return { task, status: 'insufficient_data', metrics, band, violations: [], reason: `${metrics.count} events in the window, fewer than the ${Math.max(minCount, 1)} needed` };
  }
  const needed = positivesToJudge(thresholds.calibration, thresholds.minPositives);
  if (metrics.positives < needed) {
    const why = needed > thresholds.minPositives ? ` to judge calibration within [${thresholds.calibration.min}, ${thresholds.calibration.max}] (${JUDGE_Z} standard errors)` : '';
    return { task, status: 'insufficient_data', metrics, band, violations: [], reason: `${round(metrics.positives)} positives in the window, fewer than the ${needed} needed${why}` };
  }
  if (metrics.calibration === null || metrics.ne === null) {
    return { task, status: 'insufficient_data', metrics, band, violations: [], reason: 'the window has only positives or only negatives, so calibration and NE are undefined' };
  }
  const violations: Violation[] = [];
  if (metrics.calibration < band.calibration.min || metrics.calibration > band.calibration.max) {
    violations.push({ metric: 'calibration', value: metrics.calibration, band: band.calibration });
  }
  if (metrics.ne > thresholds.neMax) violations.push({ metric: 'ne', value: metrics.ne, band: band.ne });
  return { task, status: violations.length ? 'unstable' : 'ok', metrics, band, violations, reason: null };
}

/** Combines task verdicts into the model's. */
export function modelStatusOf(tasks: readonly TaskEvaluation[]): ModelStatus {
  if (tasks.some((t) => t.status === 'unstable')) return 'unstable';
  if (tasks.some((t) => t.status === 'ok')) return 'stable';
  if (tasks.some((t) => t.status === 'insufficient_data')) return 'insufficient_data';
  return 'unmonitored';
}

const round = (x: number) => Math.round(x * 100) / 100;
