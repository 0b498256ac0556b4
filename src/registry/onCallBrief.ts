import type { Model } from './model.js';
import type { ModelType } from './modelType.js';
import type { ModelRole } from './vocabulary.js';

/**
 * What an on-call engineer needs about a model within a minute of an alert: what it does, how
 * critical it is, who owns it, and the safe first response for its role.
 */
export function onCallBrief(model: Model, type: ModelType): string[] {
  const share = `${Number((model.trafficShare * 100).toFixed(2))}% of traffic`;
  const parts = [type.parsed.app, type.parsed.surface, ...type.parsed.subsurfaces, type.parsed.architecture].join(' / ');
  const metrics = type.criticalityJustification?.businessMetrics.length ? ` (business metrics: ${type.criticalityJustification.businessMetrics.join(', ')})` : '';
  const lowered = model.effectiveCriticality !== type.criticality ? `, lowered from the type's ${type.criticality}` : '';
  return [
    `${model.id}: ${model.role}, ${share}`,
    `  what:     ${type.description}`,
    `            ${type.name} = ${parts}; ${type.funnelStage.replace(/_/g, ' ')}; tasks ${type.tasks.map((t) => t.name).join(', ')}`,
    `  tier:     ${model.effectiveCriticality}${lowered}${metrics}`,
    `  owner:    team ${type.ownerTeam}; on-call ${type.oncall.rotation} (${type.oncall.coverage})`,
    `  baseline: ${type.baselineModelId ?? 'none'}; holdout: ${type.holdoutModelId ?? 'none'}`,
    `  action:   ${firstResponse[model.role](model, type)}`,
  ];
}

const endAndRevert = (what: string) => (model: Model, type: ModelType) =>
  type.baselineModelId
    ? `${what}: ending it and moving its ${Number((model.trafficShare * 100).toFixed(2))}% back to the baseline ${type.baselineModelId} is a safe first response; tell team ${type.ownerTeam}.`
    : `${what}, but the type has no baseline to move traffic back to: page ${type.oncall.rotation} before turning it off.`;

const firstResponse: Record<ModelRole, (model: Model, type: ModelType) => string> = {
  experiment: endAndRevert('an experiment'),
  candidate: endAndRevert('a launch candidate'),
  shadow: () => 'a shadow model: it serves no user traffic, so no user impact; tell the owner during working hours.',
  holdout: endAndRevert('the holdout'),
  baseline: (_model, type) =>
    `the baseline: it cannot simply be turned off. Page ${type.oncall.rotation} (${type.oncall.coverage}) and the owner team ${type.ownerTeam}.`,
  retired: () => 'retired: it should serve no traffic; if it does, routing is stale. Tell the owner.',
};
