import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Model } from '../registry/model.js';
import type { ModelType } from '../registry/modelType.js';
import { FirstResponseKind, firstResponse } from '../registry/onCallBrief.js';
import { Criticality, ModelRole, OncallCoverage } from '../registry/vocabulary.js';
import { formatBand, formatValue } from '../stability/bandText.js';

export { formatBand, formatValue };

/** What an alert is about: a model outside its stability thresholds, or burning its stability SLO budget. */
export const AlertKind = ['ModelUnstable', 'StabilityBudgetBurn'] as const;
export type AlertKind = (typeof AlertKind)[number];

/** How loudly an alert is delivered, most severe first. */
export const Severity = ['page', 'ticket', 'heads_up'] as const;
export type Severity = (typeof Severity)[number];

/** 0 is the most severe, as with criticality tiers. */
export const severityRank = (severity: Severity): number => Severity.indexOf(severity);

/** The more severe of two severities. */
export const mostSevere = (a: Severity, b: Severity): Severity => (severityRank(a) <= severityRank(b) ? a : b);

export const AlertState = ['firing', 'resolved'] as const;
export type AlertState = (typeof AlertState)[number];

const Timestamp = z.iso.datetime({ offset: true }).describe('RFC 3339');

export const BandSchema = z.object({ min: z.number().nullable(), max: z.number().nullable() }).strict();
export type Band = z.infer<typeof BandSchema>;

/** One metric of one task outside its band. */
export const TaskViolationSchema = z
  .object({
    task: z.string(),
    metric: z.enum(['calibration', 'ne']),
    value: z.number(),
    band: BandSchema,
  })
  .strict();
export type TaskViolation = z.infer<typeof TaskViolationSchema>;

/** The multiwindow burn-rate rule that fired, for StabilityBudgetBurn alerts. */
export const BudgetBurnSchema = z
  .object({
    window: z.string().min(1).describe("the rule's long/short windows, e.g. '1h/5m'"),
    burnRate: z.number().describe('how many times faster than sustainable the error budget is being spent'),
    threshold: z.number().describe('the burn rate the rule fires at, e.g. 14.4'),
    objective: z.number().nullable().describe('the SLO target, e.g. 0.99 of minutes stable'),
  })
  .strict();
export type BudgetBurn = z.infer<typeof BudgetBurnSchema>;

/** The first response on-call should take, with the exact API call and CLI command when there is one. */
export const AlertActionSchema = z
  .object({
    kind: z.enum(FirstResponseKind),
    text: z.string(),
    http: z
      .object({ method: z.literal('POST'), path: z.string(), url: z.string() })
      .strict()
      .optional(),
    cli: z.string().optional(),
  })
  .strict();
export type AlertAction = z.infer<typeof AlertActionSchema>;

export const AlertLinksSchema = z.object({ model: z.string(), stability: z.string(), history: z.string() }).strict();
export type AlertLinks = z.infer<typeof AlertLinksSchema>;

/** Everything on-call needs at 3 a.m., copied from the registry when the alert was evaluated. */
export const AlertDetailsSchema = z
  .object({
    model: z.string(),
    modelType: z.string(),
    businessFunction: z.string().describe("the model type's description"),
    tier: z.enum(Criticality).describe("the model's effective tier"),
    typeTier: z.enum(Criticality),
    ownerTeam: z.string(),
    oncall: z.object({ rotation: z.string(), coverage: z.enum(OncallCoverage) }).strict(),
    role: z.enum(ModelRole),
    trafficShare: z.number(),
    baseline: z.string().nullable(),
    tasks: z.array(TaskViolationSchema).describe('the tasks and metrics outside their bands; empty for budget burn'),
    burn: BudgetBurnSchema.nullable(),
    evaluation: z
      .object({ at: Timestamp, windowMinutes: z.number().int().positive() })
      .strict()
      .nullable()
      .describe('the evaluation window the finding comes from'),
    since: Timestamp.describe('when the condition started'),
    routing: z.string().describe('why the alert has its severity'),
    links: AlertLinksSchema,
    action: AlertActionSchema,
  })
  .strict();
export type AlertDetails = z.infer<typeof AlertDetailsSchema>;

/**
 * One alert, as stored and as sent. The fingerprint is its identity: the store keeps one row per
 * fingerprint, and a condition that comes back after resolving re-fires the same row.
 */
export const AlertSchema = z
  .object({
    fingerprint: z.string().min(1),
    kind: z.enum(AlertKind),
    modelId: z.string(),
    modelType: z.string(),
    severity: z.enum(Severity),
    state: z.enum(AlertState),
    startsAt: Timestamp,
    endsAt: Timestamp.nullable(),
    updatedAt: Timestamp,
    labels: z.record(z.string(), z.string()),
    summary: z.string(),
    details: AlertDetailsSchema,
    lastNotifiedState: z.enum(AlertState).nullable().default(null).describe('the state receivers last accepted; null before the first delivery'),
    lastNotifiedSeverity: z.enum(Severity).nullable().default(null).describe('the severity receivers last accepted'),
    lastNotifiedAt: Timestamp.nullable().default(null),
  })
  .strict();
export type Alert = z.output<typeof AlertSchema>;

/** What the latest evaluation says should be firing; the lifecycle turns it into an {@link Alert}. */
export const DesiredAlertSchema = AlertSchema.omit({
  state: true,
  startsAt: true,
  endsAt: true,
  updatedAt: true,
  lastNotifiedState: true,
  lastNotifiedSeverity: true,
  lastNotifiedAt: true,
}).extend({
  since: Timestamp.optional().describe('when the condition started, if the evaluator knows; otherwise the first evaluation that saw it'),
});
export type DesiredAlert = z.output<typeof DesiredAlertSchema>;

/**
 * A stable identity for an alert: the same kind, model (and burn-rate rule) always hash alike, so
 * re-evaluations and restarts find the alert already stored instead of raising a second one.
 */
export function alertFingerprint(kind: AlertKind, modelId: string, rule?: string): string {
  return createHash('sha256')
    .update([kind, modelId, rule ?? ''].join('\u0000'))
    .digest('hex')
    .slice(0, 16);
}

/** Links to the model in the console, its stability report and its change history. */
export function alertLinks(baseUrl: string, modelId: string): AlertLinks {
  const base = baseUrl.replace(/\/+$/, '');
  const id = encodeURIComponent(modelId);
  return {
    model: `${base}/models/${id}`,
    stability: `${base}/api/v1/models/${id}/stability`,
    history: `${base}/api/v1/models/${id}/history`,
  };
}

/** The API path that ends an experiment: its traffic goes back to the baseline, recorded in history. */
export const endExperimentPath = (modelId: string): string => `/api/v1/models/${encodeURIComponent(modelId)}/end-experiment`;

/**
 * The safe first response for the model's role (the same words as the on-call brief), plus the exact
 * API call and CLI command when that response is ending an experiment.
 */
export function alertAction(model: Model, type: ModelType, baseUrl: string): AlertAction {
  const response = firstResponse(model, type);
  if (response.kind !== 'end_experiment') return { kind: response.kind, text: response.text };
  const path = endExperimentPath(model.id);
  return {
    kind: response.kind,
    text: response.text,
    http: { method: 'POST', path, url: `${baseUrl.replace(/\/+$/, '')}${path}` },
    cli: `modelfleet models end-experiment ${model.id}`,
  };
}

/** The labels receivers route and group on (Alertmanager label names: letters, digits, '_'). */
export function alertLabels(kind: AlertKind, severity: Severity, model: Model, type: ModelType, extra: { tasks?: readonly TaskViolation[]; burnWindow?: string } = {}): Record<string, string> {
  const labels: Record<string, string> = {
    alertname: kind,
    model: model.id,
    model_type: type.name,
    team: type.ownerTeam,
    tier: model.effectiveCriticality,
    role: model.role,
    severity,
  };
  // Sorted and de-duplicated so the labels stay the same while the same tasks stay out of band.
  const tasks = [...new Set((extra.tasks ?? []).map((t) => t.task))].sort();
  const metrics = [...new Set((extra.tasks ?? []).map((t) => t.metric))].sort();
  if (tasks.length) labels.task = tasks.join(',');
  if (metrics.length) labels.metric = metrics.join(',');
  if (extra.burnWindow) labels.burn_window = extra.burnWindow;
  return labels;
}

/** "PLIKE calibration 1.31 outside [0.9, 1.1]", "PLIKE ne 0.97 above 0.9". */
export function describeViolation(v: TaskViolation): string {
  const where =
    v.band.min !== null && v.band.max !== null
      ? `outside ${formatBand(v.band)}`
      : v.band.max !== null
        ? `above ${formatValue(v.band.max)}`
        : v.band.min !== null
          ? `below ${formatValue(v.band.min)}`
          : 'with no band';
  return `${v.task} ${v.metric} ${formatValue(v.value)} ${where}`;
}

/** "burning its stability budget 15.2x over 1h/5m (fires at 14.4x)". */
export const describeBurn = (burn: BudgetBurn): string =>
  `burning its stability budget ${formatValue(burn.burnRate)}x over ${burn.window} (fires at ${formatValue(burn.threshold)}x${burn.objective === null ? '' : `, objective ${formatValue(burn.objective * 100)}% stable`})`;
