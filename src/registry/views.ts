import type { Approval } from './approval.js';
import { effectiveModelCriticality } from './criticalityPolicy.js';
import type { StoredModel, StoredModelType, StoredTeam } from './entry.js';
import type { Model } from './model.js';
import type { ModelType } from './modelType.js';
import { splitModelTypeName } from './modelTypeName.js';
import type { Team } from './team.js';
import type { Criticality } from './vocabulary.js';

/** How entries look to readers: the spec with its bookkeeping and the values derived from other entries. */

const meta = (entry: { version: number; createdAt: string; updatedAt: string }) => ({
  version: entry.version,
  createdAt: entry.createdAt,
  updatedAt: entry.updatedAt,
});

export function teamView(entry: StoredTeam, members: string[]): Team {
  return { ...entry.spec, members, ...meta(entry) };
}

export function modelTypeView(entry: StoredModelType, pending: Approval | null): ModelType {
  return {
    ...entry.spec,
    baselineModelId: entry.baselineModelId,
    holdoutModelId: entry.holdoutModelId,
    parsed: splitModelTypeName(entry.spec.name),
    pendingApproval: pending
      ? {
          id: pending.id,
          requestedCriticality: pending.requestedCriticality,
          requestedBy: pending.requestedBy,
          requestedAt: pending.requestedAt,
        }
      : null,
    ...meta(entry),
  };
}

export function modelView(entry: StoredModel, typeCriticality: Criticality): Model {
  return {
    ...entry.spec,
    effectiveCriticality: effectiveModelCriticality(typeCriticality, entry.spec.criticality),
    ...meta(entry),
  };
}

/** The snapshot a change record keeps: exactly what can be written back by a revert, plus the version. */
export function changeSnapshot(entry: { spec: unknown; version: number } | null): unknown {
  return entry ? { ...(entry.spec as object), version: entry.version } : null;
}
