import { stringify } from 'yaml';
import { alertAction } from '../../alerting/alert.js';
import type { Model } from '../../registry/model.js';
import type { ModelType } from '../../registry/modelType.js';
import { onCallBrief } from '../../registry/onCallBrief.js';
import { BURN_RATE_RULES, type SloObjectives, SLO_WINDOWS_MINUTES, objectiveFor } from '../../stability/slo.js';
import type { SnapshotEntry } from '../../stability/registrySnapshot.js';
import { StabilityMetricName } from '../stabilityMetrics.js';
import { generatedSeverity } from './alertSeverity.js';
import { promDuration, selector, templateLiteral } from './promql.js';

/** The metric names modelfleet serves at /metrics that the generated rules read: the ones `StabilityMetrics` registers. */
export const SOURCE_METRICS = StabilityMetricName;

/** The series the generated recording rules write, by window (a Prometheus duration such as `1h`). */
export const RECORDED = {
  taskCalibration: (w: string) => `modelfleet:task_calibration:ratio_rate${w}`,
  taskPositiveRate: (w: string) => `modelfleet:task_positive_rate:ratio_rate${w}`,
  taskLogLoss: (w: string) => `modelfleet:task_log_loss:mean_rate${w}`,
  taskLabelEntropy: (w: string) => `modelfleet:task_label_entropy:rate${w}`,
  taskNe: (w: string) => `modelfleet:task_ne:ratio_rate${w}`,
  taskStable: (w: string) => `modelfleet:task_stable:rate${w}`,
  modelStable: (w: string) => `modelfleet:model_stable:rate${w}`,
  /** Share of judged minutes (samples of the model's verdict) that were stable over the window. */
  modelSli: (w: string) => `modelfleet:model_sli:ratio_${w}`,
  modelBurnRate: (w: string) => `modelfleet:model_burn_rate:${w}`,
  modelObjective: 'modelfleet:model_slo_objective',
  taskPredictionRate: 'modelfleet:task_predictions:rate5m',
} as const;

/** The windows every monitored type's task metrics are recorded over, besides the type's own evaluation window. */
export const TASK_WINDOWS_MINUTES = [5, 60] as const;

/** Rules are evaluated every minute: the SLI counts one verdict sample per minute, as the server counts minutes. */
export const RULE_INTERVAL = '1m';

/** How long a model must stay unstable before ModelUnstable fires: a blip between scrapes pages nobody. */
export const MODEL_UNSTABLE_FOR = '2m';

export interface RecordingRule {
  record: string;
  expr: string;
  labels?: Record<string, string>;
}
export interface AlertingRule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
export type Rule = RecordingRule | AlertingRule;
export interface RuleGroup {
  name: string;
  interval: string;
  rules: Rule[];
}
/** A Prometheus rule file (`rule_files:`), as an object. */
export interface PrometheusRuleFile {
  groups: RuleGroup[];
}

export interface PrometheusRulesOptions {
  /** Per-tier SLO objectives overriding the defaults, as the server's stability config gives them. */
  objectives?: SloObjectives;
  /** The console and API origin alert annotations link to. */
  baseUrl: string;
}

/** A model the generated rules watch: live, with thresholds for at least one of its type's tasks. */
export function isMonitored(entry: SnapshotEntry): boolean {
  return entry.model.role !== 'retired' && entry.type.tasks.some((t) => entry.model.thresholds[t.name] !== undefined);
}

/** The window (minutes) a type's models are judged over, as the server judges them. */
export const judgedWindowMinutes = (type: ModelType): number => type.stability?.windowMinutes ?? 60;

/** Monitored entries grouped by model type, types and models sorted by name so the output is the same for the same registry. */
export function monitoredByType(entries: Iterable<SnapshotEntry>): Array<{ type: ModelType; models: Model[] }> {
  const byType = new Map<string, { type: ModelType; models: Model[] }>();
  for (const entry of entries) {
    if (!isMonitored(entry)) continue;
    let group = byType.get(entry.type.name);
    if (!group) byType.set(entry.type.name, (group = { type: entry.type, models: [] }));
    group.models.push(entry.model);
  }
  const groups = [...byType.values()].sort((a, b) => compare(a.type.name, b.type.name));
  for (const group of groups) group.models.sort((a, b) => compare(a.id, b.id));
  return groups;
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

const TASK_KEYS = 'model, model_type, task';

/**
 * Compiles the registry into Prometheus rules: one group per model type with monitored models, holding
 * the type's recording rules (calibration, NE and stability per task and window, the model's verdict,
 * its SLI and burn rates) and then its alerts (ModelUnstable per model, and the multiwindow burn-rate
 * alerts of the model's SLO). Retired models and models without thresholds get no rules, so retiring a
 * model removes them.
 */
export function prometheusRules(entries: Iterable<SnapshotEntry>, options: PrometheusRulesOptions): PrometheusRuleFile {
  return { groups: monitoredByType(entries).map(({ type, models }) => typeGroup(type, models, options)) };
}

/** The rule file as YAML, with a header saying where it comes from. */
export function prometheusRulesYaml(file: PrometheusRuleFile): string {
  const header = '# Generated by modelfleet from its registry: do not edit; regenerate with `modelfleet monitoring generate`.\n';
  return header + stringify(file, { lineWidth: 0, aliasDuplicateObjects: false });
}

function typeGroup(type: ModelType, models: Model[], options: PrometheusRulesOptions): RuleGroup {
  const judgedMinutes = judgedWindowMinutes(type);
  const judged = promDuration(judgedMinutes);
  const windows = [...new Set([...TASK_WINDOWS_MINUTES, judgedMinutes])].sort((a, b) => a - b).map(promDuration);
  const ids = models.map((m) => m.id);
  const counterSel = `{${selector({ model_type: type.name, model: ids })}}`;
  const typeSel = `{${selector({ model_type: type.name })}}`;
  const gauge = (name: string, agg: 'max' | 'min') => `${agg} by (${TASK_KEYS}) (${name}${counterSel})`;
  const increase = (metric: string, w: string) => `sum by (${TASK_KEYS}) (increase(${metric}${counterSel}[${w}]))`;
  const typeLabels = { app: type.parsed.app, surface: type.parsed.surface, funnel_stage: type.funnelStage, team: type.ownerTeam };

  const rules: Rule[] = [{ record: RECORDED.taskPredictionRate, expr: `sum by (${TASK_KEYS}) (rate(${SOURCE_METRICS.predictions}${counterSel}[5m]))` }];
  for (const w of windows) {
    const calibration = RECORDED.taskCalibration(w);
    const ne = RECORDED.taskNe(w);
    const p = `(${RECORDED.taskPositiveRate(w)}${typeSel} > 0 < 1)`;
    rules.push(
      // A window without positives has no calibration: left unjudged, as the server leaves it.
      { record: calibration, expr: `${increase(SOURCE_METRICS.scoreWeighted, w)} / (${increase(SOURCE_METRICS.labelWeighted, w)} > 0)` },
      { record: RECORDED.taskPositiveRate(w), expr: `${increase(SOURCE_METRICS.labelWeighted, w)} / (${increase(SOURCE_METRICS.weight, w)} > 0)` },
      { record: RECORDED.taskLogLoss(w), expr: `${increase(SOURCE_METRICS.logLossWeighted, w)} / (${increase(SOURCE_METRICS.weight, w)} > 0)` },
      // H(p) of the observed positive rate; p of exactly 0 or 1 has no entropy to normalize by, so no NE.
      { record: RECORDED.taskLabelEntropy(w), expr: `-(${p} * ln(${p}) + (1 - ${p}) * ln(1 - ${p}))` },
      { record: ne, expr: `${RECORDED.taskLogLoss(w)}${typeSel} / on (${TASK_KEYS}) (${RECORDED.taskLabelEntropy(w)}${typeSel} > 0)` },
      {
        // 1 when calibration is within [min, max] and NE at most ne_max; tasks without threshold gauges (or without NE) stay unjudged.
        record: RECORDED.taskStable(w),
        expr: [
          `(${calibration}${typeSel} >= bool on (${TASK_KEYS}) ${gauge(SOURCE_METRICS.calibrationMin, 'max')})`,
          `(${calibration}${typeSel} <= bool on (${TASK_KEYS}) ${gauge(SOURCE_METRICS.calibrationMax, 'min')})`,
          `(${ne}${typeSel} <= bool on (${TASK_KEYS}) ${gauge(SOURCE_METRICS.neMax, 'min')})`,
        ].join('\n* '),
      },
      // A model is stable iff every judged task is.
      { record: RECORDED.modelStable(w), expr: `min by (model, model_type) (${RECORDED.taskStable(w)}${typeSel})`, labels: typeLabels },
    );
  }
  const verdict = `${RECORDED.modelStable(judged)}${typeSel}`;
  // Minutes without a verdict (too little data) count neither way, as in the server's SLO.
  for (const minutes of SLO_WINDOWS_MINUTES) {
    const w = promDuration(minutes);
    rules.push({ record: RECORDED.modelSli(w), expr: `avg_over_time(${verdict}[${w}])` });
  }
  for (const model of models) {
    rules.push({
      record: RECORDED.modelObjective,
      expr: `vector(${objectiveFor(model.effectiveCriticality, options.objectives)})`,
      labels: { model: model.id, model_type: type.name, tier: model.effectiveCriticality },
    });
  }
  for (const minutes of SLO_WINDOWS_MINUTES) {
    const w = promDuration(minutes);
    rules.push({
      record: RECORDED.modelBurnRate(w),
      expr: `(1 - ${RECORDED.modelSli(w)}${typeSel}) / on (model, model_type) (1 - ${RECORDED.modelObjective}${typeSel})`,
    });
  }
  for (const model of models) rules.push(...modelAlerts(model, type, judged, options));
  return { name: `modelfleet/${type.name}`, interval: RULE_INTERVAL, rules };
}

/** The labels every alert of a model carries: Alertmanager routes on tier and severity, groups on type and model, inhibits on role. */
export function alertRuleLabels(alert: string, model: Model, type: ModelType, severity: string): Record<string, string> {
  return {
    severity,
    tier: model.effectiveCriticality,
    team: type.ownerTeam,
    model_type: type.name,
    model: model.id,
    role: model.role,
    oncall: templateLiteral(type.oncall.rotation),
    alertname: alert,
  };
}

function modelAlerts(model: Model, type: ModelType, judged: string, options: PrometheusRulesOptions): AlertingRule[] {
  const sel = `{${selector({ model: model.id })}}`;
  const action = alertAction(model, type, options.baseUrl);
  const brief = templateLiteral(onCallBrief(model, type).join('\n'));
  const base = options.baseUrl.replace(/\/+$/, '');
  const links = {
    console: `${base}/models/${encodeURIComponent(model.id)}`,
    stability: `${base}/api/v1/models/${encodeURIComponent(model.id)}/stability`,
  };
  const actionText = templateLiteral(action.cli ? `${action.text} Run: ${action.cli}` : action.text);
  const { alertname: _unstable, ...unstableLabels } = alertRuleLabels('ModelUnstable', model, type, generatedSeverity(model.effectiveCriticality, 'page'));
  const alerts: AlertingRule[] = [
    {
      alert: 'ModelUnstable',
      expr: `${RECORDED.modelStable(judged)}${sel} == 0`,
      for: MODEL_UNSTABLE_FOR,
      labels: unstableLabels,
      annotations: {
        summary: templateLiteral(`${model.id} (${model.effectiveCriticality} ${model.role}) is unstable: a task's calibration or NE over ${judged} is outside its thresholds`),
        description: `${brief}\nSee which task and metric: ${RECORDED.taskStable(judged)}${sel} == 0`,
        action: actionText,
        ...(action.cli ? { cli: action.cli } : {}),
        console: links.console,
        stability: links.stability,
      },
    },
  ];
  const objective = objectiveFor(model.effectiveCriticality, options.objectives);
  for (const rule of BURN_RATE_RULES) {
    // A rule whose error-rate threshold is 100% or more can never fire at this objective; slower rules catch the burn.
    if (rule.factor * (1 - objective) >= 1) continue;
    const long = promDuration(rule.longMinutes);
    const short = promDuration(rule.shortMinutes);
    const window = `${long}/${short}`;
    const { alertname: _burn, ...labels } = alertRuleLabels('StabilityBudgetBurn', model, type, generatedSeverity(model.effectiveCriticality, rule.severity));
    alerts.push({
      alert: 'StabilityBudgetBurn',
      expr: [
        `${RECORDED.modelBurnRate(long)}${sel} > ${rule.factor}`,
        `and on (model) ${RECORDED.modelBurnRate(short)}${sel} > ${rule.factor}`,
        // As the server does: fire only once the long window holds at least a short window of verdicts.
        `and on (model) count_over_time(${RECORDED.modelStable(judged)}${sel}[${long}]) >= ${rule.shortMinutes}`,
      ].join('\n'),
      labels: { ...labels, burn_window: window },
      annotations: {
        summary: `${templateLiteral(`${model.id} (${model.effectiveCriticality} ${model.role})`)} is burning its stability budget {{ printf "%.1f" $value }}x over ${window} (fires at ${rule.factor}x, objective ${Number((objective * 100).toPrecision(6))}% of minutes stable)`,
        description: `${brief}\nBurn rates: ${RECORDED.modelBurnRate(long)}${sel}, ${RECORDED.modelBurnRate(short)}${sel}`,
        action: actionText,
        ...(action.cli ? { cli: action.cli } : {}),
        console: links.console,
        stability: links.stability,
      },
    });
  }
  return alerts;
}
