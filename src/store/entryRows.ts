import type { Selectable } from 'kysely';
import type { Approval } from '../registry/approval.js';
import type { ChangeRecord } from '../registry/change.js';
import type { StoredModel, StoredModelType, StoredTeam } from '../registry/entry.js';
import type { StoredExtensionSchema } from '../registry/registryStore.js';
import { splitModelTypeName } from '../registry/modelTypeName.js';
import { teamSpecFromStored } from '../registry/team.js';
import type { Database } from './schema.js';

/** Conversions between stored rows and registry entries; the only place that knows both shapes. */

const searchText = (...parts: Array<string | undefined | null>) => parts.filter(Boolean).join(' ').toLowerCase();

export function teamToRow(entry: StoredTeam): Database['teams'] {
  return { name: entry.spec.name, version: entry.version, doc: JSON.stringify(entry.spec), created_at: entry.createdAt, updated_at: entry.updatedAt };
}

export function rowToTeam(row: Selectable<Database['teams']>): StoredTeam {
  // Documents stored before a team field existed read as its default.
  return { spec: teamSpecFromStored(JSON.parse(row.doc)), version: row.version, createdAt: row.created_at, updatedAt: row.updated_at };
}

export function modelTypeToRow(entry: StoredModelType): Database['model_types'] {
  const { spec } = entry;
  const parsed = splitModelTypeName(spec.name);
  // Baseline and holdout are derived from the models' roles, so the stored document leaves them out.
  const doc = { ...spec, baselineModelId: null, holdoutModelId: null };
  return {
    name: spec.name,
    version: entry.version,
    app: parsed.app,
    surface: parsed.surface,
    architecture: parsed.architecture,
    funnel_stage: spec.funnelStage,
    owner_team: spec.ownerTeam,
    criticality: spec.criticality,
    baseline_model_id: entry.baselineModelId,
    holdout_model_id: entry.holdoutModelId,
    search: searchText(spec.name, spec.description, spec.ownerTeam, spec.tags.join(' '), spec.tasks.map((t) => t.name).join(' ')),
    doc: JSON.stringify(doc),
    created_at: entry.createdAt,
    updated_at: entry.updatedAt,
  };
}

export function rowToModelType(row: Selectable<Database['model_types']>): StoredModelType {
  return {
    spec: JSON.parse(row.doc),
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    baselineModelId: row.baseline_model_id,
    holdoutModelId: row.holdout_model_id,
  };
}

/** The model's own columns; the columns copied from its type are filled in by `refreshModelFilterColumns`. */
export function modelToRow(entry: StoredModel): Omit<Database['models'], 'app' | 'surface' | 'architecture' | 'funnel_stage' | 'owner_team' | 'effective_criticality'> {
  const { spec } = entry;
  return {
    id: spec.id,
    version: entry.version,
    model_type: spec.modelType,
    role: spec.role,
    criticality: spec.criticality ?? null,
    search: searchText(spec.id, spec.tags.join(' '), spec.assets.map((a) => a.uri).join(' ')),
    doc: JSON.stringify(spec),
    created_at: entry.createdAt,
    updated_at: entry.updatedAt,
  };
}

export function rowToModel(row: Pick<Selectable<Database['models']>, 'doc' | 'version' | 'created_at' | 'updated_at'>): StoredModel {
  return { spec: JSON.parse(row.doc), version: row.version, createdAt: row.created_at, updatedAt: row.updated_at };
}

export function rowToChange(row: Selectable<Database['changes']>): ChangeRecord {
  return {
    seq: Number(row.seq),
    entity: row.entity as ChangeRecord['entity'],
    entityId: row.entity_id,
    version: row.version,
    action: row.action as ChangeRecord['action'],
    actor: row.actor,
    at: row.at,
    reason: row.reason,
    before: row.before === null ? null : JSON.parse(row.before),
    after: row.after === null ? null : JSON.parse(row.after),
    patch: JSON.parse(row.patch),
  };
}

export function rowToApproval(row: Selectable<Database['approvals']>): Approval {
  return {
    id: Number(row.id),
    modelType: row.model_type,
    fromCriticality: row.from_criticality as Approval['fromCriticality'],
    requestedCriticality: row.requested_criticality as Approval['requestedCriticality'],
    status: row.status as Approval['status'],
    requestedBy: row.requested_by,
    requestedAt: row.requested_at,
    requestReason: row.request_reason,
    decidedBy: row.decided_by,
    decidedAt: row.decided_at,
    decisionReason: row.decision_reason,
  };
}

export function rowToExtensionSchema(row: Selectable<Database['extension_schemas']>): StoredExtensionSchema {
  return { spec: JSON.parse(row.doc), version: row.version, createdAt: row.created_at, updatedAt: row.updated_at };
}
