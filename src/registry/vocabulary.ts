/** The registry's closed vocabularies, as const tables so a missing case fails to compile. */

export const Criticality = ['TIER0', 'TIER1', 'TIER2', 'TIER3', 'TIER4'] as const;
export type Criticality = (typeof Criticality)[number];

/** TIER0 is the most severe; a lower rank is more critical. */
export const criticalityRank = (tier: Criticality): number => Criticality.indexOf(tier);

export const FunnelStage = ['retrieval', 'early_stage_ranking', 'late_stage_ranking', 'other'] as const;
export type FunnelStage = (typeof FunnelStage)[number];

export const ModelRole = ['candidate', 'experiment', 'shadow', 'baseline', 'holdout', 'retired'] as const;
export type ModelRole = (typeof ModelRole)[number];

/** Roles that hold (or may hold) production traffic; a retired model holds none. */
export const isLiveRole = (role: ModelRole): boolean => role !== 'retired';

export const OncallCoverage = ['24x7', 'business_hours'] as const;
export type OncallCoverage = (typeof OncallCoverage)[number];

export const ThresholdSource = ['static', 'learned'] as const;
export type ThresholdSource = (typeof ThresholdSource)[number];

export const AssetKind = ['checkpoint', 'training_flow', 'inference_service', 'dataset', 'dashboard', 'other'] as const;
export type AssetKind = (typeof AssetKind)[number];

export const EntityKind = ['team', 'modelType', 'model', 'extensionSchema', 'settings'] as const;
export type EntityKind = (typeof EntityKind)[number];

export const ChangeAction = ['create', 'update', 'delete', 'approve', 'reject', 'revert'] as const;
export type ChangeAction = (typeof ChangeAction)[number];

/**
 * How a team's launches are approved, within its quota: `auto_within_quota` goes ahead whenever the
 * launch fits the team's pool; `no_capacity_regression` goes ahead only when the candidate costs no
 * more than the model it replaces; `manual` always waits for a person.
 */
export const LaunchPolicy = ['auto_within_quota', 'no_capacity_regression', 'manual'] as const;
export type LaunchPolicy = (typeof LaunchPolicy)[number];

export const Role = ['admin', 'member', 'viewer', 'ingest'] as const;
export type Role = (typeof Role)[number];
