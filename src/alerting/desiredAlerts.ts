import type { Model } from '../registry/model.js';
import type { ModelType } from '../registry/modelType.js';
import type { ModelEvaluation } from '../stability/evaluation.js';
import {
  type AlertDetails,
  type BudgetBurn,
  type DesiredAlert,
  type Severity,
  type TaskViolation,
  alertAction,
  alertFingerprint,
  alertLabels,
  alertLinks,
  describeBurn,
  describeViolation,
} from './alert.js';
import { type BusinessHours, type Route, routeFor, severityFor } from './routing.js';

/** Where the alert's links point and when business hours are, from the server's configuration. */
export interface AlertSettings {
  /** The console and API origin on-call can reach, e.g. https://modelfleet.example.com */
  baseUrl: string;
  businessHours: BusinessHours;
}

/**
 * The generic "model unstable" alert every registered model gets without any setup: null unless the
 * evaluation found the model unstable. Routed by the model's tier at the evaluation's time.
 *
 * @param since when the model became unstable, if the evaluator tracks it
 */
export function modelUnstableAlert(evaluation: ModelEvaluation, model: Model, type: ModelType, settings: AlertSettings, since?: Date): DesiredAlert | null {
  if (evaluation.status !== 'unstable') return null;
  const at = new Date(evaluation.at);
  const tasks: TaskViolation[] = evaluation.tasks.flatMap((t) =>
    t.status === 'unstable' ? t.violations.map((v) => ({ task: t.task, metric: v.metric, value: v.value, band: { min: v.band.min, max: v.band.max } })) : [],
  );
  const route = routeFor(model.effectiveCriticality, at, settings.businessHours);
  const [first, ...rest] = tasks;
  const finding = first ? `${describeViolation(first)}${rest.length ? ` (and ${rest.length} more)` : ''}` : 'unstable';
  return {
    fingerprint: alertFingerprint('ModelUnstable', model.id),
    kind: 'ModelUnstable',
    modelId: model.id,
    modelType: type.name,
    severity: route.severity,
    labels: alertLabels('ModelUnstable', route.severity, model, type, { tasks }),
    summary: `${model.id} (${model.effectiveCriticality} ${model.role}) is unstable: ${finding}`,
    details: details(model, type, settings, route, {
      tasks,
      burn: null,
      evaluation: { at: at.toISOString(), windowMinutes: evaluation.windowMinutes },
      since: (since ?? at).toISOString(),
    }),
    ...(since ? { since: since.toISOString() } : {}),
  };
}

/** A multiwindow burn-rate rule that fired for one model, as the SLO evaluation reports it. */
export interface BudgetBurnFinding extends BudgetBurn {
  /** What the rule asks for: the fast windows page, the slow one opens a ticket. */
  severity: Severity;
  at: Date;
  since?: Date;
}

/**
 * A StabilityBudgetBurn alert, one per model and burn-rate rule. The rule's severity is capped by
 * the model's tier and business hours, as every alert's is.
 */
export function budgetBurnAlert(finding: BudgetBurnFinding, model: Model, type: ModelType, settings: AlertSettings): DesiredAlert {
  const route = severityFor(model.effectiveCriticality, finding.severity, finding.at, settings.businessHours);
  const burn: BudgetBurn = { window: finding.window, burnRate: finding.burnRate, threshold: finding.threshold, objective: finding.objective };
  return {
    fingerprint: alertFingerprint('StabilityBudgetBurn', model.id, finding.window),
    kind: 'StabilityBudgetBurn',
    modelId: model.id,
    modelType: type.name,
    severity: route.severity,
    labels: alertLabels('StabilityBudgetBurn', route.severity, model, type, { burnWindow: finding.window }),
    summary: `${model.id} (${model.effectiveCriticality} ${model.role}) is ${describeBurn(burn)}`,
    details: details(model, type, settings, route, { tasks: [], burn, evaluation: null, since: (finding.since ?? finding.at).toISOString() }),
    ...(finding.since ? { since: finding.since.toISOString() } : {}),
  };
}

function details(
  model: Model,
  type: ModelType,
  settings: AlertSettings,
  route: Route,
  finding: Pick<AlertDetails, 'tasks' | 'burn' | 'evaluation' | 'since'>,
): AlertDetails {
  return {
    model: model.id,
    modelType: type.name,
    businessFunction: type.description,
    tier: model.effectiveCriticality,
    typeTier: type.criticality,
    ownerTeam: type.ownerTeam,
    oncall: { rotation: type.oncall.rotation, coverage: type.oncall.coverage },
    role: model.role,
    trafficShare: model.trafficShare,
    baseline: type.baselineModelId,
    ...finding,
    routing: route.reason,
    links: alertLinks(settings.baseUrl, model.id),
    action: alertAction(model, type, settings.baseUrl),
  };
}
