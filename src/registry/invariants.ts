import type { ErrorDetail } from '../core/errors.js';
import { criticalityRank, isLiveRole } from './vocabulary.js';
import type { ModelTypeDerived, StoredModel, StoredModelType } from './entry.js';
import type { ExtensionValidator } from './extensionValidation.js';

/** A model type and all of its models, as they will be after a write. */
export interface TypeSlice {
  name: string;
  type: StoredModelType | null;
  models: Map<string, StoredModel>;
  /** The type was stored before this write (and is being deleted when `type` is null). */
  existedBefore?: boolean;
  /**
   * Models whose own criticality this write sets (new ones, or changed). Only these are held to "not
   * more critical than the type", so lowering a type stays free: a model's older, now higher tier is
   * capped at the type's when read. Omitted: every model is checked.
   */
  settingCriticality?: ReadonlySet<string>;
}

export interface InvariantContext {
  hasTeam: (name: string) => boolean;
  extensions: ExtensionValidator;
}

/** Shares are summed in floating point; allow for rounding in user-written decimals like 0.1 + 0.2 + 0.7. */
const SHARE_EPSILON = 1e-9;

/**
 * The rules that span entries, checked on the final state of one model type: its owner exists, its
 * models agree with it (tasks, tier, extension schemas), at most one baseline and one holdout, live
 * traffic sums to at most 1, and the baseline/holdout ids the type states agree with the models' roles.
 * Returns the derived baseline and holdout so they are stored from the same computation.
 */
export function checkModelTypeInvariants(slice: TypeSlice, context: InvariantContext): { problems: ErrorDetail[]; derived: ModelTypeDerived } {
  const problems: ErrorDetail[] = [];
  const { type, name } = slice;
  const models = [...slice.models.values()].sort((a, b) => a.spec.id.localeCompare(b.spec.id));
  const derived: ModelTypeDerived = { baselineModelId: null, holdoutModelId: null };
  if (!type) {
    if (models.length && slice.existedBefore) {
      problems.push({
        path: `modelTypes.${name}`,
        message: `model type '${name}' still has ${models.length} model(s) (${models.slice(0, 5).map((m) => m.spec.id).join(', ')}${models.length > 5 ? ', ...' : ''}): delete its models first, then the type`,
      });
    } else if (models.length) {
      problems.push({
        path: `modelTypes.${name}`,
        message: `model type '${name}' does not exist but ${models.length} model(s) need it (${models.slice(0, 5).map((m) => m.spec.id).join(', ')}): create the model type first, or delete its models`,
      });
    }
    return { problems, derived };
  }
  const spec = type.spec;
  if (!context.hasTeam(spec.ownerTeam)) {
    problems.push({ path: `modelTypes.${name}.ownerTeam`, message: `team '${spec.ownerTeam}' does not exist: create it first or name an existing team` });
  }
  problems.push(...context.extensions.check('modelType', spec.ownerTeam, spec.extended).map((d) => ({ ...d, path: `modelTypes.${name}.${d.path}` })));

  const tasks = new Set(spec.tasks.map((t) => t.name));
  const baselines = models.filter((m) => m.spec.role === 'baseline');
  const holdouts = models.filter((m) => m.spec.role === 'holdout');
  for (const [role, list] of [['baseline', baselines], ['holdout', holdouts]] as const) {
    if (list.length > 1) {
      problems.push({
        path: `modelTypes.${name}`,
        message: `model type '${name}' would have ${list.length} ${role} models (${list.map((m) => m.spec.id).join(', ')}): at most one; give the others another role`,
      });
    }
  }
  derived.baselineModelId = baselines[0]?.spec.id ?? null;
  derived.holdoutModelId = holdouts[0]?.spec.id ?? null;
  for (const [field, value] of [['baselineModelId', derived.baselineModelId], ['holdoutModelId', derived.holdoutModelId]] as const) {
    const stated = spec[field];
    if (stated !== null && stated !== value) {
      const role = field === 'baselineModelId' ? 'baseline' : 'holdout';
      problems.push({
        path: `modelTypes.${name}.${field}`,
        message: `${field} says '${stated}' but the ${role} model of '${name}' is ${value ? `'${value}'` : 'none'}: the model's role is the source of truth, so set role: ${role} on '${stated}' (and another role on the current one) or drop ${field}`,
      });
    }
  }

  let liveShare = 0;
  for (const model of models) {
    const m = model.spec;
    if (isLiveRole(m.role)) liveShare += m.trafficShare;
    else if (m.trafficShare > 0) {
      problems.push({ path: `models.${m.id}.trafficShare`, message: `retired model '${m.id}' still has traffic share ${m.trafficShare}: set it to 0` });
    }
    for (const task of Object.keys(m.thresholds)) {
      if (!tasks.has(task)) {
        problems.push({
          path: `models.${m.id}.thresholds.${task}`,
          message: `task '${task}' is not a task of model type '${name}' (its tasks: ${[...tasks].join(', ')}): add it to the type or remove the threshold`,
        });
      }
    }
    const checkTier = slice.settingCriticality ? slice.settingCriticality.has(m.id) : true;
    if (checkTier && m.criticality && criticalityRank(m.criticality) < criticalityRank(spec.criticality)) {
      problems.push({
        path: `models.${m.id}.criticality`,
        message: `model '${m.id}' cannot be more critical (${m.criticality}) than its type (${spec.criticality}): raise the type instead, or omit the model's criticality`,
      });
    }
    problems.push(...context.extensions.check('model', spec.ownerTeam, m.extended).map((d) => ({ ...d, path: `models.${m.id}.${d.path}` })));
  }
  if (liveShare > 1 + SHARE_EPSILON) {
    const shares = models.filter((m) => isLiveRole(m.spec.role) && m.spec.trafficShare > 0).map((m) => `${m.spec.id}=${m.spec.trafficShare}`);
    problems.push({
      path: `modelTypes.${name}`,
      message: `traffic shares of the live models of '${name}' sum to ${Number(liveShare.toFixed(6))}, more than 1 (${shares.join(', ')}): lower some shares so they sum to at most 1`,
    });
  }
  return { problems, derived };
}
