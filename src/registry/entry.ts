import type { ModelSpec } from './model.js';
import type { ModelTypeSpec } from './modelType.js';
import type { TeamSpec } from './team.js';

/** A stored registry entry: what the writer said, plus the server's bookkeeping. */
export interface StoredEntry<Spec> {
  spec: Spec;
  version: number;
  createdAt: string;
  updatedAt: string;
}

/** What the model type row keeps besides its spec: values derived from other entries. */
export interface ModelTypeDerived {
  baselineModelId: string | null;
  holdoutModelId: string | null;
}

export type StoredTeam = StoredEntry<TeamSpec>;
export type StoredModelType = StoredEntry<ModelTypeSpec> & ModelTypeDerived;
export type StoredModel = StoredEntry<ModelSpec & { modelType: string }>;

/** The three kinds of entries that config files and the write pipeline handle. */
export const RegistryKind = ['team', 'modelType', 'model'] as const;
export type RegistryKind = (typeof RegistryKind)[number];

export interface RegistrySpecs {
  team: TeamSpec;
  modelType: ModelTypeSpec;
  model: ModelSpec & { modelType: string };
}
