import { useEffect, useState } from 'preact/hooks';
import type { TaskThresholds } from '../../registry/model.js';
import { positivesToJudge, type Band } from '../../stability/evaluation.js';
import type { ModelStabilityReport, TaskPoint } from './apiTypes.js';
import { api, ApiError } from '../api/client.js';
import type { ChartSpan } from '../components/TimeChart.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** The ranges the stability charts offer, each with a step that keeps them to a few hundred points. */
export const RANGES = [
  { key: '1h', label: '1 h', ms: HOUR, step: '1m', stepMs: MINUTE },
  { key: '6h', label: '6 h', ms: 6 * HOUR, step: '1m', stepMs: MINUTE },
  { key: '24h', label: '24 h', ms: 24 * HOUR, step: '5m', stepMs: 5 * MINUTE },
  { key: '7d', label: '7 d', ms: 7 * 24 * HOUR, step: '1h', stepMs: HOUR },
] as const;
export type StabilityRange = (typeof RANGES)[number];

/** How often the stability charts and the SLO read again: the evaluator judges once a minute. */
export const STABILITY_REFRESH_MS = 30_000;

export interface StabilityState {
  data: ModelStabilityReport | null;
  error: ApiError | null;
  loading: boolean;
}

/**
 * The model's stability over the last `range`, read again every 30 s. The window slides with the
 * clock, so `from` is computed at each read (a fixed query would freeze it); a refresh keeps the
 * previous answer on screen until the next arrives. `id` null: not read (unknown or retired model).
 */
export function useStability(id: string | null, range: StabilityRange): StabilityState {
  const [state, setState] = useState<StabilityState>({ data: null, error: null, loading: id !== null });
  const [tick, setTick] = useState(0);

  useEffect(() => setState({ data: null, error: null, loading: id !== null }), [id, range.key]);

  useEffect(() => {
    if (id === null) return;
    const controller = new AbortController();
    const to = Date.now();
    api
      .get<ModelStabilityReport>(`/models/${encodeURIComponent(id)}/stability`, { from: to - range.ms, to, step: range.step }, controller.signal)
      .then((data) => setState({ data, error: null, loading: false }))
      .catch((error: unknown) => {
        if ((error as Error).name === 'AbortError') return;
        setState((s) => ({ data: s.data, error: error instanceof ApiError ? error : new ApiError(0, 'client', String(error)), loading: false }));
      });
    return () => controller.abort();
  }, [id, range.key, tick]);

  useEffect(() => {
    if (id === null) return;
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') setTick((t) => t + 1);
    }, STABILITY_REFRESH_MS);
    return () => clearInterval(timer);
  }, [id, range.key]);

  return state;
}

export type Metric = 'calibration' | 'ne';

/** The healthy range of one metric, from the task's thresholds. */
export function bandOf(thresholds: TaskThresholds | null, metric: Metric): Band | null {
  if (!thresholds) return null;
  return metric === 'calibration' ? { min: thresholds.calibration.min, max: thresholds.calibration.max } : { min: null, max: thresholds.neMax };
}

export const outside = (value: number, band: Band): boolean => (band.min !== null && value < band.min) || (band.max !== null && value > band.max);

/**
 * Whether a point counts as outside its band. A point the evaluator judged counts when it was judged
 * (not short of data) and the value is outside. A point without a verdict (the step's own events)
 * counts only with as many events and positives as the evaluator would need to judge it, so the noise
 * of a quiet minute is not painted as an incident.
 */
export function pointOutside(point: TaskPoint, metric: Metric, thresholds: TaskThresholds | null): boolean {
  const band = bandOf(thresholds, metric);
  const value = point[metric];
  if (!band || !thresholds || value === null) return false;
  if (point.status !== null) return (point.status === 'ok' || point.status === 'unstable') && outside(value, band);
  const enough = point.count > 0 && point.count >= (thresholds.minCount ?? 0) && point.positives >= positivesToJudge(thresholds.calibration, thresholds.minPositives);
  return enough && outside(value, band);
}

/**
 * Shaded x ranges (seconds) over the steps whose point is outside, adjacent steps merged. A judged
 * point is stamped with the end of its window, an unjudged one with the start of its step, so each
 * span covers the time its value describes.
 */
export function outsideSpans(points: readonly TaskPoint[], metric: Metric, thresholds: TaskThresholds | null, stepMs: number, color: string): ChartSpan[] {
  const spans: ChartSpan[] = [];
  for (const p of points) {
    if (!pointOutside(p, metric, thresholds)) continue;
    const start = p.status === null ? p.t : p.t - stepMs;
    const from = start / 1000;
    const to = (start + stepMs) / 1000;
    const last = spans.at(-1);
    if (last && from <= last.to) last.to = Math.max(last.to, to);
    else spans.push({ from, to, color });
  }
  return spans;
}
