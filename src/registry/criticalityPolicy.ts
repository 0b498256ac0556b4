import type { ErrorDetail } from '../core/errors.js';
import type { Actor } from './actor.js';
import type { ModelTypeSpec } from './modelType.js';
import { criticalityRank, type Criticality } from './vocabulary.js';

/** TIER0 and TIER1 models can cause the worst incidents; they carry extra obligations. */
export const isHighCriticality = (tier: Criticality): boolean => criticalityRank(tier) <= criticalityRank('TIER1');

/** The tier a type gets while an elevation waits for approval when it has no tier of its own yet. */
export const DEFAULT_UNAPPROVED_TIER: Criticality = 'TIER2';

/** TIER0/TIER1 need round-the-clock on-call and a justification that names the business metrics at stake. */
export function criticalityObligations(spec: Pick<ModelTypeSpec, 'criticality' | 'oncall' | 'criticalityJustification'>): ErrorDetail[] {
  if (!isHighCriticality(spec.criticality)) return [];
  const problems: ErrorDetail[] = [];
  if (spec.oncall.coverage !== '24x7') {
    problems.push({
      path: 'oncall.coverage',
      message: `${spec.criticality} needs 24x7 on-call coverage (is '${spec.oncall.coverage}'): set coverage to 24x7 or choose TIER2 or lower`,
    });
  }
  if (!spec.criticalityJustification || spec.criticalityJustification.businessMetrics.length === 0) {
    problems.push({
      path: 'criticalityJustification.businessMetrics',
      message: `${spec.criticality} needs a justification naming the business metrics at stake (e.g. ["daily_active_users", "ad_revenue"])`,
    });
  }
  return problems;
}

export type CriticalityDecision =
  | { kind: 'apply'; tier: Criticality }
  | { kind: 'hold'; tier: Criticality; requested: Criticality };

/**
 * Raising a type to TIER0 or TIER1 needs a platform admin: an admin's write applies at once; anyone
 * else's keeps the old tier (or TIER2 for a new type) and files a pending approval. Lowering is free.
 */
export function decideCriticality(actor: Actor, before: Criticality | null, requested: Criticality): CriticalityDecision {
  const raising = before === null || criticalityRank(requested) < criticalityRank(before);
  if (!raising || !isHighCriticality(requested) || actor.role === 'admin') return { kind: 'apply', tier: requested };
  return { kind: 'hold', tier: before ?? DEFAULT_UNAPPROVED_TIER, requested };
}

/** A model's tier is its type's unless it is lowered; it can never be above its type's. */
export function effectiveModelCriticality(typeTier: Criticality, modelTier: Criticality | undefined): Criticality {
  if (!modelTier) return typeTier;
  return criticalityRank(modelTier) > criticalityRank(typeTier) ? modelTier : typeTier;
}
