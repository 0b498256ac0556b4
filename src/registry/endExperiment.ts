import { conflict } from '../core/errors.js';
import type { Model } from './model.js';
import type { ModelType } from './modelType.js';
import type { ModelRole } from './vocabulary.js';
import type { RegistryOp } from './writePipeline.js';

/** Roles on-call may end with one action: none of them is what users get when nothing is being tried. */
const ENDABLE: ReadonlySet<ModelRole> = new Set(['experiment', 'shadow', 'candidate']);

/**
 * The writes that end an experiment: the model is retired and its traffic share goes back to the
 * type's baseline, in one transaction, so no request is left without a model. A baseline or holdout
 * is refused with what to do instead.
 */
export function endExperimentOps(model: Model, type: ModelType, baseline: Model | null): RegistryOp[] {
  if (model.role === 'baseline') {
    throw conflict(`${model.id} is the baseline of ${type.name}: it cannot simply be turned off. Page ${type.oncall.rotation} and the owner team ${type.ownerTeam}; do not turn it off`);
  }
  if (model.role === 'holdout') {
    throw conflict(`${model.id} is the holdout of ${type.name}: ending it would stop measuring the baseline. Ask team ${type.ownerTeam} to change it through the registry`);
  }
  if (model.role === 'retired') throw conflict(`${model.id} is already retired: it serves no traffic`);
  if (!ENDABLE.has(model.role)) throw conflict(`${model.id} has role ${model.role}, which this action does not end`);
  const ops: RegistryOp[] = [{ action: 'patch', kind: 'model', key: model.id, mergePatch: { role: 'retired', trafficShare: 0 }, ifVersion: model.version }];
  if (model.trafficShare > 0) {
    if (!baseline) {
      throw conflict(`${model.id} serves ${share(model.trafficShare)} of traffic but ${type.name} has no baseline to take it back: page ${type.oncall.rotation} before turning it off`);
    }
    // Shares are sums of user-set fractions; clamp so rounding cannot push the baseline past 1.
    const back = Math.min(1, baseline.trafficShare + model.trafficShare);
    ops.push({ action: 'patch', kind: 'model', key: baseline.id, mergePatch: { trafficShare: back }, ifVersion: baseline.version });
  }
  return ops;
}

const share = (x: number) => `${Number((x * 100).toFixed(2))}%`;
