import type { Approval, ApprovalDraft, ApprovalStatus } from './approval.js';
import type { ChangeDraft, ChangeRecord } from './change.js';
import type { ModelTypeDerived, RegistryKind, RegistrySpecs, StoredEntry, StoredModel, StoredModelType, StoredTeam } from './entry.js';
import type { ExtensionSchemaSpec } from './extensionSchema.js';
import type { RegistrySettings } from './settings.js';
import type { Criticality, EntityKind, FunnelStage, ModelRole } from './vocabulary.js';

/** One entry to insert, replace or delete; `expectedVersion` is checked at write time so concurrent writers never overwrite each other. */
export interface EntryWrite<K extends RegistryKind = RegistryKind> {
  kind: K;
  key: string;
  action: 'create' | 'update' | 'delete';
  expectedVersion: number | null;
  entry: StoredEntry<RegistrySpecs[K]> | null;
}

export interface StoredExtensionSchema extends StoredEntry<ExtensionSchemaSpec> {}

/** Reads every registry operation needs, inside or outside a transaction. */
export interface RegistryReads {
  settings(): Promise<RegistrySettings>;
  extensionSchemas(): Promise<StoredExtensionSchema[]>;
  teams(names: readonly string[]): Promise<StoredTeam[]>;
  modelTypes(names: readonly string[]): Promise<StoredModelType[]>;
  models(ids: readonly string[]): Promise<StoredModel[]>;
  modelsOfTypes(types: readonly string[]): Promise<StoredModel[]>;
  modelTypesOfTeams(teams: readonly string[]): Promise<StoredModelType[]>;
  pendingApprovals(modelTypes: readonly string[]): Promise<Approval[]>;
  approval(id: number): Promise<Approval | null>;
  changesOf(entity: EntityKind, id: string): Promise<ChangeRecord[]>;
  /** The last version each entry had, deleted or not, so a re-created entry continues its history. */
  lastVersions(entity: EntityKind, ids: readonly string[]): Promise<Map<string, number>>;
  teamMembers(teams: readonly string[]): Promise<Map<string, string[]>>;
}

/** Writes, available only inside a transaction. */
export interface RegistryTx extends RegistryReads {
  /** Serializes writers of the same model types (row locks on PostgreSQL; SQLite has one writer). */
  lockModelTypes(names: readonly string[]): Promise<void>;
  writeEntries(writes: readonly EntryWrite[], derived: ReadonlyMap<string, ModelTypeDerived>): Promise<void>;
  appendChanges(drafts: readonly ChangeDraft[]): Promise<ChangeRecord[]>;
  insertApproval(draft: ApprovalDraft): Promise<Approval>;
  decideApproval(id: number, status: ApprovalStatus, decidedBy: string, decidedAt: string, reason: string | null): Promise<void>;
  putSettings(settings: RegistrySettings): Promise<void>;
  putExtensionSchema(entry: StoredExtensionSchema, expectedVersion: number | null): Promise<void>;
  deleteExtensionSchema(name: string, expectedVersion: number): Promise<void>;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface ListQuery {
  limit: number;
  cursor?: string | null | undefined;
  q?: string | undefined;
  tag?: string | undefined;
}

export interface ModelTypeListQuery extends ListQuery {
  app?: string | undefined;
  surface?: string | undefined;
  architecture?: string | undefined;
  funnelStage?: FunnelStage | undefined;
  ownerTeam?: string | undefined;
  criticality?: Criticality | undefined;
}

export interface ModelListQuery extends ModelTypeListQuery {
  modelType?: string | undefined;
  role?: ModelRole | undefined;
}

export interface AssetRow {
  modelId: string;
  modelType: string;
  name: string;
  kind: string;
  uri: string;
}

/** The registry's port to a database; `store/` implements it for SQLite and PostgreSQL. */
export interface RegistryStore extends RegistryReads {
  transaction<T>(fn: (tx: RegistryTx) => Promise<T>): Promise<T>;
  listTeams(query: ListQuery): Promise<Page<StoredTeam>>;
  listModelTypes(query: ModelTypeListQuery): Promise<Page<StoredModelType>>;
  listModels(query: ModelListQuery): Promise<Page<StoredModel>>;
  listChanges(after: number, limit: number, filter?: { entity?: EntityKind | undefined; entityId?: string | undefined }): Promise<ChangeRecord[]>;
  listApprovals(status: ApprovalStatus | null, limit: number): Promise<Approval[]>;
  listAssets(filter: { modelType?: string | undefined; kind?: string | undefined; uri?: string | undefined }, limit: number): Promise<AssetRow[]>;
  latestSeq(): Promise<number>;
}
