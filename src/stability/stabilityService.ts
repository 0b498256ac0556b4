import { invalidInput, notFound } from '../core/errors.js';
import type { Actor } from '../registry/actor.js';
import type { TaskThresholds } from '../registry/model.js';
import type { ChangeRecord } from '../registry/change.js';
import type { Clock, RegistryService } from '../registry/registryService.js';
import type { Criticality, FunnelStage } from '../registry/vocabulary.js';
import { Accumulator } from './accumulator.js';
import type { ModelEvaluation, ModelStatus, TaskStatus } from './evaluation.js';
import { HOUR_MS, MINUTE_MS } from './eventBatch.js';
import { isMonitored, windowMinutesOf } from './evaluator.js';
import { metricsOf, type StabilityMetrics } from './metrics.js';
import type { RegistrySnapshotSource, SnapshotEntry } from './registrySnapshot.js';
import { evaluateSlo, objectiveFor, type SloObjectives } from './slo.js';
import { SloWindowCounter } from './sloWindows.js';
import { Resolution, type StabilityStore } from './stabilityStore.js';
import { learnThresholds, type LearnOptions, type LearningSample, type LearningWindowCounts } from './thresholdLearning.js';
import type { FleetStability, ModelPoint, ModelSlo, ModelStabilityReport, Rollup, TaskPoint } from './stabilityReports.js';

export type { FleetStability, ModelPoint, ModelSlo, ModelStabilityReport, Rollup, TaskPoint } from './stabilityReports.js';

export interface LearnRequest {
  days: number;
  dryRun: boolean;
  options?: LearnOptions;
}

export interface LearnOutcome {
  model: string;
  from: string;
  to: string;
  dryRun: boolean;
  thresholds: Record<string, TaskThresholds>;
  skipped: Record<string, string>;
  windowCounts: Record<string, LearningWindowCounts>;
  change: ChangeRecord | null;
}

const MAX_POINTS = 2000;

/** Reads of stability for people and tools: a model over time, the fleet, SLOs; and learning thresholds. */
export class StabilityService {
  private readonly sloCounter: SloWindowCounter;

  constructor(
    private readonly store: StabilityStore,
    private readonly snapshots: RegistrySnapshotSource,
    private readonly registry: RegistryService,
    private readonly clock: Clock,
    private readonly objectives: SloObjectives = {},
    /** How long minute buckets are kept: older ranges are read from the hourly rollup. */
    private readonly minuteRetentionMs = 2 * 24 * HOUR_MS,
  ) {
    this.sloCounter = new SloWindowCounter(store);
  }

  private async entry(id: string): Promise<SnapshotEntry> {
    const entry = (await this.snapshots.current()).entries.get(id);
    if (entry) return entry;
    await this.registry.getModel(id); // a precise 404 for an unknown id
    throw notFound(`model '${id}' is retired: it has no current stability; its history stays in GET /api/v1/models/${id}/history`);
  }

  async modelStability(id: string, query: { from?: number | undefined; to?: number | undefined; step?: number | undefined }): Promise<ModelStabilityReport> {
    const entry = await this.entry(id);
    const now = this.clock.now().getTime();
    const to = query.to ?? now;
    const from = query.from ?? to - 6 * HOUR_MS;
    if (!(from < to)) throw invalidInput(`from (${new Date(from).toISOString()}) must be before to (${new Date(to).toISOString()})`, [{ path: 'from', message: 'must be before to' }]);
    const step = query.step ?? Math.max(MINUTE_MS, Math.ceil((to - from) / 360 / MINUTE_MS) * MINUTE_MS);
    if (step % MINUTE_MS !== 0) throw invalidInput('step must be a whole number of minutes, e.g. 5m', [{ path: 'step', message: 'not whole minutes' }]);
    if ((to - from) / step > MAX_POINTS) {
      throw invalidInput(`from..to / step gives ${Math.ceil((to - from) / step)} points, more than ${MAX_POINTS}: use a larger step or a shorter range`, [{ path: 'step', message: 'too many points' }]);
    }
    const evaluations = await this.store.evaluations(id, from - (from % step), to);
    const [latest] = await this.store.evaluations(id, now - 5 * MINUTE_MS, now + MINUTE_MS).then((rows) => rows.slice(-1));
    const base = {
      model: id,
      modelType: entry.type.name,
      tier: entry.model.effectiveCriticality,
      role: entry.model.role,
      windowMinutes: windowMinutesOf(entry),
      from,
      to,
      step,
      current: latest?.evaluation ?? null,
    };
    const taskNames = entry.type.tasks.map((t) => t.name);
    const thresholdsOf = (task: string) => entry.model.thresholds[task] ?? null;
    const steps: number[] = [];
    for (let t = from - (from % step); t < to; t += step) steps.push(t);
    const points: ModelPoint[] = [];
    const taskPoints = new Map<string, TaskPoint[]>(taskNames.map((t) => [t, []]));
    const unjudged: number[] = [];
    let i = 0;
    for (const t of steps) {
      let last: ModelEvaluation | null = null;
      let unstable = 0;
      let stable = 0;
      while (i < evaluations.length && evaluations[i]!.minute < t + step) {
        const e = evaluations[i++]!;
        if (e.minute < t) continue;
        last = e.evaluation;
        if (e.status === 'unstable') unstable += 1;
        if (e.status === 'stable') stable += 1;
      }
      points.push({ t, status: last?.status ?? null, unstableMinutes: unstable, stableMinutes: stable });
      if (!last) unjudged.push(t);
      for (const task of taskNames) {
        const te = last?.tasks.find((x) => x.task === task);
        taskPoints.get(task)!.push(te ? pointOf(last!.at, te.metrics, te.status) : pointOf(t, metricsOf(new Accumulator()), null));
      }
    }
    // Steps with no verdict kept (older than their retention, or before the model was monitored) show
    // the sums of the events themselves, unjudged.
    if (unjudged.length) {
      const span = { from: unjudged[0]!, to: unjudged.at(-1)! + step };
      const resolution = step % HOUR_MS === 0 || span.from < now - this.minuteRetentionMs ? Resolution.hour : Resolution.minute;
      const rows = await this.store.buckets(id, resolution, span.from, span.to);
      const sums = new Map<string, Accumulator>();
      for (const row of rows) {
        const key = `${row.task}\u0000${row.start - (row.start % step)}`;
        (sums.get(key) ?? sums.set(key, new Accumulator()).get(key)!).merge(row.sums);
      }
      const index = new Map(steps.map((t, k) => [t, k]));
      for (const t of unjudged) {
        for (const task of taskNames) {
          const acc = sums.get(`${task}\u0000${t}`);
          if (acc) taskPoints.get(task)![index.get(t)!] = pointOf(t, metricsOf(acc), null);
        }
      }
    }
    const source = unjudged.length === 0 ? 'evaluations' : unjudged.length === steps.length ? 'buckets' : 'mixed';
    return { ...base, source, points, tasks: taskNames.map((task) => ({ task, thresholds: thresholdsOf(task), points: taskPoints.get(task)! })) };
  }

  async fleet(): Promise<FleetStability> {
    const snapshot = await this.snapshots.current();
    const now = this.clock.now().getTime();
    const latest = await this.store.latestEvaluations(now);
    const byModel = new Map(latest.map((e) => [e.modelId, e]));
    const live = [...snapshot.entries.values()];
    const monitored = live.filter(isMonitored);
    const rollups = { surface: new Map<string, Rollup>(), funnel: new Map<string, Rollup>(), team: new Map<string, Rollup>(), tier: new Map<string, Rollup>() };
    const totals = { monitored: monitored.length, unmonitored: live.length - monitored.length, stable: 0, unstable: 0, insufficientData: 0 };
    const unstable: FleetStability['unstable'] = [];
    for (const entry of monitored) {
      const status = byModel.get(entry.model.id)?.status ?? 'insufficient_data';
      const add = (map: Map<string, Rollup>, key: string) => {
        const r = map.get(key) ?? { key, models: 0, stable: 0, unstable: 0, insufficientData: 0 };
        r.models += 1;
        if (status === 'stable') r.stable += 1;
        else if (status === 'unstable') r.unstable += 1;
        else r.insufficientData += 1;
        map.set(key, r);
      };
      add(rollups.surface, `${entry.type.parsed.app}_${entry.type.parsed.surface}`);
      add(rollups.funnel, entry.type.funnelStage satisfies FunnelStage);
      add(rollups.team, entry.type.ownerTeam);
      add(rollups.tier, entry.model.effectiveCriticality);
      if (status === 'stable') totals.stable += 1;
      else if (status === 'unstable') {
        totals.unstable += 1;
        const evaluation = byModel.get(entry.model.id)!.evaluation;
        unstable.push({
          model: entry.model.id,
          tier: entry.model.effectiveCriticality,
          role: entry.model.role,
          team: entry.type.ownerTeam,
          violations: evaluation.tasks.flatMap((t) => t.violations.map((v) => ({ task: t.task, metric: v.metric, value: v.value, band: v.band }))),
        });
      } else totals.insufficientData += 1;
    }
    const sorted = (map: Map<string, Rollup>) => [...map.values()].sort((a, b) => b.unstable - a.unstable || (a.key < b.key ? -1 : 1));
    unstable.sort((a, b) => (a.tier < b.tier ? -1 : a.tier > b.tier ? 1 : a.model < b.model ? -1 : 1));
    return {
      at: latest[0]?.minute ?? null,
      models: totals,
      bySurface: sorted(rollups.surface),
      byFunnelStage: sorted(rollups.funnel),
      byTeam: sorted(rollups.team),
      byTier: [...rollups.tier.values()].sort((a, b) => (a.key < b.key ? -1 : 1)),
      unstable,
    };
  }

  /**
   * The latest verdict of each model the last evaluation judged, and that evaluation's minute (null
   * before the first): what `fleet()` counts, for views that show every model's status.
   */
  /** The minute of the latest evaluation (null before the first), without reading the verdicts. */
  latestEvaluatedMinute(): Promise<number | null> {
    return this.store.latestEvaluatedMinute(this.clock.now().getTime());
  }

  async latestVerdicts(): Promise<{ at: number | null; statuses: Map<string, ModelStatus> }> {
    const latest = await this.store.latestEvaluations(this.clock.now().getTime());
    return { at: latest[0]?.minute ?? null, statuses: new Map(latest.map((e) => [e.modelId, e.status])) };
  }

  /** SLO reports at the latest evaluated minute, worst budget first. */
  async slos(filter: { team?: string | undefined; tier?: Criticality | undefined; model?: string | undefined } = {}): Promise<{ at: number | null; items: ModelSlo[] }> {
    const snapshot = await this.snapshots.current();
    const now = this.clock.now().getTime();
    const at = await this.lastEvaluatedMinute(now);
    if (at === null) return { at: null, items: [] };
    return { at, items: await this.sloReportsAt(at, snapshot, filter) };
  }

  /** SLO reports of monitored models at minute `at`; used by the monitor for burn-rate alerts too. */
  async sloReportsAt(at: number, snapshot: Awaited<ReturnType<RegistrySnapshotSource['current']>>, filter: { team?: string | undefined; tier?: Criticality | undefined; model?: string | undefined } = {}): Promise<ModelSlo[]> {
    const counts = await this.sloCounter.countsAt(at + MINUTE_MS);
    const items: ModelSlo[] = [];
    for (const entry of snapshot.entries.values()) {
      if (!isMonitored(entry)) continue;
      if (filter.team && entry.type.ownerTeam !== filter.team) continue;
      if (filter.tier && entry.model.effectiveCriticality !== filter.tier) continue;
      if (filter.model && entry.model.id !== filter.model) continue;
      const windows = counts.get(entry.model.id);
      const objective = objectiveFor(entry.model.effectiveCriticality, this.objectives);
      const report = evaluateSlo({ objective, windows: windows ?? emptyWindows() });
      items.push({ model: entry.model.id, modelType: entry.type.name, tier: entry.model.effectiveCriticality, team: entry.type.ownerTeam, report });
    }
    return items.sort((a, b) => a.report.errorBudget.remaining - b.report.errorBudget.remaining || (a.model < b.model ? -1 : 1));
  }

  private lastEvaluatedMinute(now: number): Promise<number | null> {
    return this.store.latestEvaluatedMinute(now);
  }

  /**
   * Learns thresholds from the model's last `days` of hourly rollups, leaving out hours it was
   * unstable, and writes them to the registry (with their basis, so history shows why they moved).
   */
  async learn(actor: Actor, id: string, request: LearnRequest): Promise<LearnOutcome> {
    const entry = await this.entry(id);
    const now = this.clock.now().getTime();
    const to = now - (now % HOUR_MS);
    const from = to - request.days * 24 * HOUR_MS;
    const [rows, verdicts] = await Promise.all([this.store.buckets(id, Resolution.hour, from, to), this.store.hourlyCountsOf(id, from, to)]);
    const tasks: Record<string, LearningSample[]> = Object.fromEntries(entry.type.tasks.map((t) => [t.name, []]));
    for (const row of rows) {
      const counts = verdicts.get(row.start);
      tasks[row.task]?.push({
        start: row.start,
        metrics: metricsOf(Accumulator.fromSnapshot(row.sums)),
        unstableMinutes: counts?.unstable ?? 0,
        evaluatedMinutes: (counts?.stable ?? 0) + (counts?.unstable ?? 0),
      });
    }
    let result;
    try {
      result = learnThresholds({ tasks, from: new Date(from), to: new Date(to), now: new Date(now), options: { evaluationWindowMinutes: windowMinutesOf(entry), ...request.options } });
    } catch (error) {
      throw invalidInput(`cannot learn thresholds: ${(error as Error).message}`);
    }
    const outcome: LearnOutcome = { model: id, from: new Date(from).toISOString(), to: new Date(to).toISOString(), dryRun: request.dryRun, ...result, change: null };
    if (!Object.keys(result.thresholds).length) return outcome;
    const thresholds = { ...entry.model.thresholds, ...result.thresholds };
    const written = await this.registry.execute(actor, [{ action: 'patch', kind: 'model', key: id, mergePatch: { thresholds }, ifVersion: entry.model.version }], {
      reason: `thresholds learned from ${request.days} days of healthy history (${Object.keys(result.thresholds).join(', ')})`,
      dryRun: request.dryRun,
    });
    outcome.change = written.changes[0] ?? null;
    return outcome;
  }
}

function pointOf(t: number, m: StabilityMetrics, status: TaskStatus | null): TaskPoint {
  return { t, count: m.count, positives: m.positives, calibration: m.calibration, ne: m.ne, status };
}

function emptyWindows() {
  const zero = { evaluated: 0, stable: 0 };
  return { 5: zero, 30: zero, 60: zero, 360: zero, 4320: zero, 40320: zero };
}
