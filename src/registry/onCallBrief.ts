import type { Model } from './model.js';
import type { ModelType } from './modelType.js';
import type { ModelRole } from './vocabulary.js';

/**
 * The kinds of safe first response: end an experiment (its traffic goes back to the baseline, which
 * the end-experiment action does), page the owner (never switch the model off), or tell the owner.
 */
export const FirstResponseKind = ['end_experiment', 'page_owner', 'tell_owner'] as const;
export type FirstResponseKind = (typeof FirstResponseKind)[number];

export interface FirstResponse {
  kind: FirstResponseKind;
  /** One sentence for on-call, naming the baseline, rotation or team it refers to. */
  text: string;
}

/**
 * What on-call should do first about a misbehaving model, by role. The on-call brief and every alert
 * use this one function, so the CLI and the pager never give different advice.
 */
export function firstResponse(model: Model, type: ModelType): FirstResponse {
  return firstResponses[model.role](model, type);
}

/**
 * What an on-call engineer needs about a model within a minute of an alert: what it does, how
 * critical it is, who owns it, and the safe first response for its role.
 */
export function onCallBrief(model: Model, type: ModelType): string[] {
  const parts = [type.parsed.app, type.parsed.surface, ...type.parsed.subsurfaces, type.parsed.architecture].join(' / ');
  const metrics = type.criticalityJustification?.businessMetrics.length ? ` (business metrics: ${type.criticalityJustification.businessMetrics.join(', ')})` : '';
  const lowered = model.effectiveCriticality !== type.criticality ? `, lowered from the type's ${type.criticality}` : '';
  return [
    `${model.id}: ${model.role}, ${percent(model.trafficShare)} of traffic`,
    `  what:     ${type.description}`,
    `            ${type.name} = ${parts}; ${type.funnelStage.replace(/_/g, ' ')}; tasks ${type.tasks.map((t) => t.name).join(', ')}`,
    `  tier:     ${model.effectiveCriticality}${lowered}${metrics}`,
    `  owner:    team ${type.ownerTeam}; on-call ${type.oncall.rotation} (${type.oncall.coverage})`,
    `  baseline: ${type.baselineModelId ?? 'none'}; holdout: ${type.holdoutModelId ?? 'none'}`,
    `  action:   ${firstResponse(model, type).text}`,
  ];
}

/** A traffic share as a short percentage: 0.02 -> "2%". */
export const percent = (share: number): string => `${Number((share * 100).toFixed(2))}%`;

const noBaseline = (what: string, type: ModelType): FirstResponse => ({
  kind: 'page_owner',
  text: `${what}, but the type has no baseline to move traffic back to: page ${type.oncall.rotation} (${type.oncall.coverage}) before turning it off.`,
});

const endExperiment =
  (what: string) =>
  (model: Model, type: ModelType): FirstResponse =>
    type.baselineModelId
      ? {
          kind: 'end_experiment',
          text: `end the experiment: its traffic (${percent(model.trafficShare)}) goes back to the baseline ${type.baselineModelId}. A safe first response for ${what}; tell team ${type.ownerTeam}.`,
        }
      : noBaseline(what, type);

const firstResponses: Record<ModelRole, (model: Model, type: ModelType) => FirstResponse> = {
  experiment: endExperiment('an experiment'),
  candidate: endExperiment('a launch candidate'),
  shadow: (_model, type) =>
    type.baselineModelId
      ? {
          kind: 'end_experiment',
          text: `end the experiment: a shadow serves no user traffic, so ending it has no user impact and the baseline ${type.baselineModelId} keeps serving; tell team ${type.ownerTeam}.`,
        }
      : noBaseline('a shadow model (it serves no user traffic)', type),
  holdout: (model, type) => ({
    kind: 'page_owner',
    text: `the holdout (${percent(model.trafficShare)} of traffic) measures what launches are worth; ending it loses that measurement, so page ${type.oncall.rotation} (${type.oncall.coverage}) and let team ${type.ownerTeam} decide.`,
  }),
  baseline: (model, type) => ({
    kind: 'page_owner',
    text: `page the owner: ${type.oncall.rotation} (${type.oncall.coverage}) and team ${type.ownerTeam}; do not turn it off: it is the baseline, serving ${percent(model.trafficShare)} of traffic with nothing behind it.`,
  }),
  retired: (_model, type) => ({
    kind: 'tell_owner',
    text: `retired: it should serve no traffic; if it does, routing is stale. Tell team ${type.ownerTeam}.`,
  }),
};
