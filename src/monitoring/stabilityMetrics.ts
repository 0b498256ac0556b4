import { Counter, Gauge, type Registry } from 'prom-client';
import type { ModelEvaluation, ModelStatus, TaskStatus } from '../stability/evaluation.js';
import { Accumulator } from '../stability/accumulator.js';
import type { BucketSums } from '../stability/eventBatch.js';
import type { RegistrySnapshot } from '../stability/registrySnapshot.js';

/**
 * The names of the prediction-quality metrics, for whatever writes PromQL against them (rules,
 * dashboards, docs). Counters hold sums of accepted labeled predictions since this process started,
 * so calibration and NE over any window are ratios of their increases.
 */
export const StabilityMetricName = {
  predictions: 'modelfleet_predictions_total',
  weight: 'modelfleet_prediction_weight_total',
  scoreWeighted: 'modelfleet_prediction_score_weighted_total',
  labelWeighted: 'modelfleet_prediction_label_weighted_total',
  logLossWeighted: 'modelfleet_prediction_log_loss_weighted_total',
  calibrationMin: 'modelfleet_task_calibration_min',
  calibrationMax: 'modelfleet_task_calibration_max',
  neMax: 'modelfleet_task_ne_max',
  modelStable: 'modelfleet_model_stable',
  taskStable: 'modelfleet_task_stable',
} as const;

const TASK_LABELS = ['model', 'model_type', 'task'] as const;
const MODEL_LABELS = ['model', 'model_type', 'tier', 'team', 'role'] as const;
type TaskLabel = (typeof TASK_LABELS)[number];
type ModelLabel = (typeof MODEL_LABELS)[number];

/**
 * 1 stable, 0 unstable; no sample otherwise. A model with too little data (or no thresholds) has no
 * verdict: a sentinel such as -1 would skew `avg(modelfleet_model_stable)` (the fleet's stable share)
 * and fire `== 0` or `< 1` alerts on a quiet hour, which stability itself never does.
 */
const MODEL_STABLE_VALUE: Record<ModelStatus, number | null> = { stable: 1, unstable: 0, insufficient_data: null, unmonitored: null };
const TASK_STABLE_VALUE: Record<TaskStatus, number | null> = { ok: 1, unstable: 0, insufficient_data: null, no_thresholds: null };

/**
 * Verdicts older than this are not shown: a server that lost the monitor's lease to another stops
 * evaluating, and its last verdicts must not linger as if current. Healthy evaluation is a minute old.
 */
export const VERDICT_MAX_AGE_MS = 5 * 60_000;

/** What the metrics need of the registry: the live models, as stability sees them. */
export interface LiveModelSource {
  current(): Promise<RegistrySnapshot>;
}

/**
 * Prometheus metrics of prediction quality, on the server's registry.
 *
 * - Counters per (model, task): events, sum w, sum w*p, sum w*y, sum w*logloss of the accepted events,
 *   added once per committed ingestion batch ({@link recordCommitted}); a replayed or rejected event
 *   adds nothing. Kept as compensated sums, so they match the stability engine's own to the last bits.
 * - Gauges of every live model's thresholds, and of each model's and task's latest verdict
 *   ({@link recordEvaluations}), shown while it is at most {@link VERDICT_MAX_AGE_MS} old.
 *
 * Series follow the registry at every scrape: a live model's tasks show (at 0 before any event, so
 * `increase()` counts the first batch); a retired or deleted model's series, counters included,
 * disappear, which keeps the cardinality at live models x tasks. A model that comes back starts its
 * counters from 0 again, which Prometheus reads as a counter reset.
 */
export class StabilityMetrics {
  private readonly sums = new Map<string, { modelId: string; task: string; acc: Accumulator }>();
  private evaluations: { at: number; byModel: Map<string, ModelEvaluation> } | null = null;
  private readonly counters: Record<'predictions' | 'weight' | 'scoreWeighted' | 'labelWeighted' | 'logLossWeighted', Counter<TaskLabel>>;
  private readonly thresholds: Record<'calibrationMin' | 'calibrationMax' | 'neMax', Gauge<TaskLabel>>;
  private readonly modelStable: Gauge<ModelLabel>;
  private readonly taskStable: Gauge<TaskLabel>;
  private refreshing: Promise<void> | null = null;

  constructor(
    registry: Registry,
    private readonly models: LiveModelSource,
    private readonly clock: { now(): Date },
  ) {
    const collect = () => this.refresh();
    const counter = (name: string, help: string) => new Counter({ name, help, labelNames: TASK_LABELS, registers: [registry], collect });
    const taskGauge = (name: string, help: string) => new Gauge({ name, help, labelNames: TASK_LABELS, registers: [registry], collect });
    const N = StabilityMetricName;
    this.counters = {
      predictions: counter(N.predictions, 'Labeled predictions accepted by ingestion (each counted once; replays and rejected events add nothing)'),
      weight: counter(N.weight, 'Sum of the weights w of accepted labeled predictions'),
      scoreWeighted: counter(N.scoreWeighted, 'Sum of w*p (weighted predicted probability) of accepted labeled predictions; calibration = its increase / that of the label sum'),
      labelWeighted: counter(N.labelWeighted, 'Sum of w*y (weighted positive labels) of accepted labeled predictions'),
      logLossWeighted: counter(N.logLossWeighted, 'Sum of w*logloss (natural log, p clamped to [1e-15, 1-1e-15]) of accepted labeled predictions'),
    };
    this.thresholds = {
      calibrationMin: taskGauge(N.calibrationMin, "Lower bound of the task's healthy calibration band, from the model's thresholds"),
      calibrationMax: taskGauge(N.calibrationMax, "Upper bound of the task's healthy calibration band, from the model's thresholds"),
      neMax: taskGauge(N.neMax, "Highest healthy normalized entropy of the task, from the model's thresholds"),
    };
    this.modelStable = new Gauge({
      name: N.modelStable,
      help: "The model's latest stability verdict: 1 stable, 0 unstable; absent with insufficient data, without thresholds, or before the first evaluation",
      labelNames: MODEL_LABELS,
      registers: [registry],
      collect,
    });
    this.taskStable = taskGauge(N.taskStable, "The task's latest verdict: 1 within its thresholds, 0 outside; absent with insufficient data or without thresholds");
  }

  /** Adds a committed ingestion batch's sums; one merge per (model, task, minute) of the batch. */
  recordCommitted(buckets: readonly BucketSums[]): void {
    for (const bucket of buckets) {
      const key = `${bucket.modelId}\u0000${bucket.task}`;
      let entry = this.sums.get(key);
      if (!entry) this.sums.set(key, (entry = { modelId: bucket.modelId, task: bucket.task, acc: new Accumulator() }));
      entry.acc.merge(bucket.acc);
    }
  }

  /** Keeps the newest minute's verdicts; a model missing from them (no longer monitored) loses its gauge. */
  recordEvaluations(evaluations: readonly ModelEvaluation[], at: number): void {
    if (this.evaluations && at < this.evaluations.at) return;
    this.evaluations = { at, byModel: new Map(evaluations.map((e) => [e.modelId, e])) };
  }

  /** Every metric's collect callback; the metrics of one scrape share one rebuild. */
  private refresh(): Promise<void> {
    return (this.refreshing ??= this.models
      .current()
      .then((snapshot) => this.rebuild(snapshot))
      .finally(() => {
        this.refreshing = null;
      }));
  }

  /** Sets every series from the live registry: what is not in it is not shown. */
  private rebuild(snapshot: RegistrySnapshot): void {
    for (const metric of [...Object.values(this.counters), ...Object.values(this.thresholds), this.modelStable, this.taskStable]) metric.reset();
    const live = new Set<string>();
    const fresh = this.evaluations !== null && this.evaluations.at >= this.clock.now().getTime() - VERDICT_MAX_AGE_MS;
    for (const { model, type } of snapshot.entries.values()) {
      const evaluation = fresh ? this.evaluations?.byModel.get(model.id) : undefined;
      const stable = evaluation ? MODEL_STABLE_VALUE[evaluation.status] : null;
      if (stable !== null) this.modelStable.set({ model: model.id, model_type: type.name, tier: model.effectiveCriticality, team: type.ownerTeam, role: model.role }, stable);
      for (const { name: task } of type.tasks) {
        const labels = { model: model.id, model_type: type.name, task };
        const key = `${model.id}\u0000${task}`;
        live.add(key);
        const acc = this.sums.get(key)?.acc;
        this.counters.predictions.inc(labels, acc?.count ?? 0);
        this.counters.weight.inc(labels, nonNegative(acc?.weight));
        this.counters.scoreWeighted.inc(labels, nonNegative(acc?.weightedP));
        this.counters.labelWeighted.inc(labels, nonNegative(acc?.positives));
        this.counters.logLossWeighted.inc(labels, nonNegative(acc?.weightedLogLoss));
        const thresholds = model.thresholds[task];
        if (thresholds) {
          this.thresholds.calibrationMin.set(labels, thresholds.calibration.min);
          this.thresholds.calibrationMax.set(labels, thresholds.calibration.max);
          this.thresholds.neMax.set(labels, thresholds.neMax);
        }
        const taskEvaluation = evaluation?.tasks.find((t) => t.task === task);
        const taskValue = taskEvaluation ? TASK_STABLE_VALUE[taskEvaluation.status] : null;
        if (taskValue !== null) this.taskStable.set(labels, taskValue);
      }
    }
    // Sums of models retired or deleted since are dropped: a model that comes back starts from 0.
    for (const key of this.sums.keys()) if (!live.has(key)) this.sums.delete(key);
  }
}

/** A compensated sum of non-negative terms is non-negative; this only keeps a counter from refusing -0. */
const nonNegative = (x: number | undefined) => (x !== undefined && x > 0 ? x : 0);
