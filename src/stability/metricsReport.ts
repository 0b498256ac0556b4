import { Accumulator } from './accumulator.js';
import type { LabeledEvent } from './labeledEvent.js';
import { metricsOf, type StabilityMetrics } from './metrics.js';
import { windowStart } from './windows.js';

export type MetricsRow = { model: string; task: string; windowStart?: number } & StabilityMetrics;

/**
 * Metrics per model and task (and per tumbling window when `windowMs` is set) over a stream of
 * events. Memory grows with the number of groups, never with the number of events.
 */
export class MetricsReport {
  private readonly groups = new Map<string, { model: string; task: string; windowStart: number | null; acc: Accumulator }>();

  constructor(private readonly windowMs: number | null) {}

  add(event: LabeledEvent): void {
    const start = this.windowMs === null ? null : windowStart(event.ts, this.windowMs);
    const key = `${event.model}\u0000${event.task}\u0000${start ?? ''}`;
    let group = this.groups.get(key);
    if (!group) {
      group = { model: event.model, task: event.task, windowStart: start, acc: new Accumulator() };
      this.groups.set(key, group);
    }
    group.acc.add(event.p, event.y, event.w);
  }

  /** Rows ordered by model, task, then window start; with exactly the documented keys. */
  rows(): MetricsRow[] {
    return [...this.groups.values()]
      .sort((a, b) => (a.model < b.model ? -1 : a.model > b.model ? 1 : a.task < b.task ? -1 : a.task > b.task ? 1 : (a.windowStart ?? 0) - (b.windowStart ?? 0)))
      .map((g) => {
        const m = metricsOf(g.acc);
        const row = { model: g.model, task: g.task, ...(g.windowStart !== null ? { windowStart: g.windowStart } : {}) };
        return { ...row, count: m.count, weight: m.weight, positives: m.positives, ctr: m.ctr, calibration: m.calibration, logLoss: m.logLoss, ne: m.ne };
      });
  }
}
