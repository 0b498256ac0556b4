import { applyMergePatch } from '../core/mergePatch.js';
import { DomainError, type ErrorCode, type ErrorDetail, conflict, notFound, preconditionFailed } from '../core/errors.js';
import { jsonEqual } from '../core/json.js';
import { assertCanWriteOwned, assertCanWriteTeam } from './access.js';
import type { Actor } from './actor.js';
import type { Approval } from './approval.js';
import type { ChangeDraft, ChangeRecord } from './change.js';
import { criticalityObligations, decideCriticality } from './criticalityPolicy.js';
import type { ModelTypeDerived, RegistryKind, RegistrySpecs, StoredEntry, StoredModel, StoredModelType, StoredTeam } from './entry.js';
import { ExtensionValidator } from './extensionValidation.js';
import { checkModelTypeInvariants, type TypeSlice } from './invariants.js';
import { splitModelId } from './modelTypeName.js';
import type { EntryWrite, RegistryTx } from './registryStore.js';
import { checkSpec, inputKey, keyField, kindLabel } from './specs.js';
import { changeSnapshot } from './views.js';
import type { ChangeAction } from './vocabulary.js';

/** One requested write. `ifVersion` is the version the writer last saw (from `If-Match`). */
export type RegistryOp =
  | { action: 'create'; kind: RegistryKind; input: unknown }
  | { action: 'update'; kind: RegistryKind; key: string; input: unknown; ifVersion?: number | undefined }
  | { action: 'patch'; kind: RegistryKind; key: string; mergePatch: unknown; ifVersion?: number | undefined }
  | { action: 'delete'; kind: RegistryKind; key: string; ifVersion?: number | undefined }
  | { action: 'revert'; kind: RegistryKind; key: string; toVersion: number; ifVersion?: number | undefined }
  | { action: 'approve'; approvalId: number };

export interface WriteOptions {
  reason: string | null;
  now: string;
  /** Prefix for error paths of the i-th op, e.g. `documents[3]`; none for single writes. */
  opPath?: (index: number) => string;
}

export interface WriteOutcome {
  changes: ChangeRecord[];
  approvals: Approval[];
  teams: Map<string, StoredTeam | null>;
  modelTypes: Map<string, StoredModelType | null>;
  models: Map<string, StoredModel | null>;
}

type Stored = { team: StoredTeam; modelType: StoredModelType; model: StoredModel };

const emptyDerived: ModelTypeDerived = { baselineModelId: null, holdoutModelId: null };

/** Problems gathered across every op, so one apply reports all of them at once. */
class Problems {
  private readonly byCode = new Map<ErrorCode, ErrorDetail[]>();
  add(code: ErrorCode, details: ErrorDetail[]): void {
    if (!details.length) return;
    this.byCode.set(code, [...(this.byCode.get(code) ?? []), ...details]);
  }
  throwIfAny(): void {
    for (const code of ['forbidden', 'invalid_input', 'conflict'] as const) {
      const details = this.byCode.get(code);
      if (!details) continue;
      const head = details.slice(0, 3).map((d) => `${d.path}: ${d.message}`).join('; ');
      const more = details.length > 3 ? ` (and ${details.length - 3} more, see details)` : '';
      throw new DomainError(code, `${head}${more}`, details);
    }
  }
}

/**
 * The single write path of the registry: API writes, config `apply`, reverts and approvals all run
 * through it. It loads the slice of the registry the ops touch, applies the ops in memory, checks the
 * single-entry rules per op and the cross-entry invariants on the final state, and only then writes
 * entries, derived values and change records, inside the caller's transaction.
 */
export async function executeWrites(tx: RegistryTx, actor: Actor, ops: readonly RegistryOp[], options: WriteOptions): Promise<WriteOutcome> {
  const settings = await tx.settings();
  const extensions = new ExtensionValidator((await tx.extensionSchemas()).map((e) => e.spec));
  const problems = new Problems();
  const at = (index: number, path: string) => (options.opPath ? `${options.opPath(index)}.${path}` : path);

  // Load the slice: every named entry, and the model types and teams those entries point at.
  const approvalsById = new Map<number, Approval>();
  const keys: Record<RegistryKind, Set<string>> = { team: new Set(), modelType: new Set(), model: new Set() };
  for (const op of ops) {
    if (op.action === 'approve') {
      const approval = await tx.approval(op.approvalId);
      if (!approval) throw notFound(`approval ${op.approvalId} does not exist; list them with GET /api/v1/approvals`);
      approvalsById.set(op.approvalId, approval);
      keys.modelType.add(approval.modelType);
      continue;
    }
    const key = op.action === 'create' ? inputKey(op.kind, op.input) : op.key;
    if (key !== null) keys[op.kind].add(key);
    if (op.kind === 'model' && key !== null) {
      const split = splitModelId(key);
      if (split) keys.modelType.add(split.modelType);
    }
  }
  await tx.lockModelTypes([...keys.modelType]);
  const original = {
    team: new Map((await tx.teams([...keys.team])).map((e) => [e.spec.name, e] as const)),
    modelType: new Map((await tx.modelTypes([...keys.modelType])).map((e) => [e.spec.name, e] as const)),
    model: new Map((await tx.models([...keys.model])).map((e) => [e.spec.id, e] as const)),
  };
  // Entries that were deleted (or are created again) continue their version numbers, so history stays unambiguous.
  const lastVersion = {
    team: await tx.lastVersions('team', [...keys.team].filter((k) => !original.team.has(k))),
    modelType: await tx.lastVersions('modelType', [...keys.modelType].filter((k) => !original.modelType.has(k))),
    model: await tx.lastVersions('model', [...keys.model].filter((k) => !original.model.has(k))),
  };
  const current: { [K in RegistryKind]: Map<string, Stored[K] | null> } = {
    team: new Map(original.team),
    modelType: new Map(original.modelType),
    model: new Map(original.model),
  };

  const drafts: ChangeDraft[] = [];
  const writes = new Map<string, EntryWrite>();
  const heldElevations: Array<{ type: string; from: StoredModelType['spec']['criticality']; requested: StoredModelType['spec']['criticality'] }> = [];
  const decidedApprovals: Approval[] = [];
  /** Types whose tier this write set directly; a request still pending for them is moot. */
  const tierSetDirectly = new Set<string>();
  const touchedTypes = new Set<string>();

  const record = <K extends RegistryKind>(kind: K, key: string, action: ChangeAction, before: Stored[K] | null, after: Stored[K] | null) => {
    current[kind].set(key, after as never);
    const writeKey = `${kind}\u0000${key}`;
    const firstWrite = writes.get(writeKey);
    const storedBefore = original[kind].get(key) ?? null;
    writes.set(writeKey, {
      kind,
      key,
      action: after === null ? 'delete' : storedBefore === null ? 'create' : 'update',
      expectedVersion: firstWrite ? firstWrite.expectedVersion : storedBefore?.version ?? null,
      entry: after as StoredEntry<RegistrySpecs[K]> | null,
    });
    drafts.push({
      entity: kind,
      entityId: key,
      version: after?.version ?? before!.version + 1,
      action,
      actor: actor.name,
      at: options.now,
      reason: options.reason,
      before: changeSnapshot(before),
      after: changeSnapshot(after),
    });
    if (kind === 'modelType') touchedTypes.add(key);
    if (kind === 'model') {
      for (const entry of [before, after] as Array<StoredModel | null>) if (entry) touchedTypes.add(entry.spec.modelType);
    }
  };

  const nextEntry = <S>(kind: RegistryKind, key: string, before: StoredEntry<S> | null, spec: S) => ({
    spec,
    version: (before?.version ?? lastVersion[kind].get(key) ?? 0) + 1,
    createdAt: before?.createdAt ?? options.now,
    updatedAt: options.now,
  });

  for (const [index, op] of ops.entries()) {
    if (op.action === 'approve') {
      const approval = approvalsById.get(op.approvalId)!;
      if (approval.status !== 'pending') {
        throw conflict(`approval ${approval.id} is already ${approval.status}; only pending approvals can be decided`);
      }
      const before = current.modelType.get(approval.modelType) ?? null;
      if (!before) throw notFound(`model type '${approval.modelType}' of approval ${approval.id} no longer exists`);
      if (before.spec.criticality !== approval.fromCriticality) {
        throw conflict(
          `model type '${approval.modelType}' is ${before.spec.criticality} now, not ${approval.fromCriticality} as when approval ${approval.id} was requested: reject it and ask the team to request the elevation again`,
        );
      }
      const spec = { ...before.spec, criticality: approval.requestedCriticality };
      const obligations = criticalityObligations(spec);
      if (obligations.length) {
        problems.add('conflict', obligations.map((d) => ({ ...d, message: `cannot approve ${approval.requestedCriticality} for '${approval.modelType}': ${d.message}` })));
        continue;
      }
      record('modelType', approval.modelType, 'approve', before, { ...nextEntry('modelType', approval.modelType, before, spec), ...derivedOf(before) });
      decidedApprovals.push(approval);
      continue;
    }

    const kind = op.kind;
    const label = kindLabel[kind];
    const key = op.action === 'create' ? inputKey(kind, op.input) : op.key;
    if (key === null) {
      problems.add('invalid_input', [{ path: at(index, keyField[kind]), message: `a ${label} needs a '${keyField[kind]}' string` }]);
      continue;
    }
    const before = (current[kind].get(key) ?? null) as Stored[typeof kind] | null;

    if (op.action === 'create' && before) {
      throw conflict(`${label} '${key}' already exists (version ${before.version}); update it with PATCH and If-Match: "${before.version}"`, [
        { path: at(index, keyField[kind]), message: 'already exists' },
      ]);
    }
    if (op.action !== 'create' && !before && op.action !== 'revert') {
      throw notFound(`${label} '${key}' does not exist`);
    }
    if (op.action !== 'create' && op.ifVersion !== undefined && before && op.ifVersion !== before.version) {
      throw preconditionFailed(
        `${label} '${key}' is at version ${before.version}, not ${op.ifVersion}: someone changed it since you read it; read it again and retry`,
      );
    }

    if (op.action === 'delete') {
      authorize(actor, kind, key, before, null, current, original);
      record(kind, key, 'delete', before, null);
      continue;
    }

    let input: unknown;
    let action: ChangeAction = before ? 'update' : 'create';
    if (op.action === 'create' || op.action === 'update') {
      input = op.input;
    } else if (op.action === 'patch') {
      input = applyMergePatch(writableSpec(kind, before!), op.mergePatch);
    } else {
      const history = await tx.changesOf(kind, key);
      const target = history.filter((c) => c.version === op.toVersion && c.after !== null).at(-1);
      if (!target) {
        throw notFound(`${label} '${key}' has no version ${op.toVersion} to revert to; see its history for the versions it had`);
      }
      const { version: _version, ...spec } = target.after as Record<string, unknown>;
      input = spec;
      action = 'revert';
    }
    if (inputKey(kind, input) !== key) {
      problems.add('invalid_input', [{ path: at(index, keyField[kind]), message: `the ${keyField[kind]} cannot change ('${key}'); create a new ${label} instead` }]);
      continue;
    }
    const checked = checkSpec(kind, input, settings);
    if (!checked.spec) {
      problems.add('invalid_input', checked.problems.map((d) => ({ ...d, path: at(index, d.path) })));
      continue;
    }
    let spec = checked.spec as RegistrySpecs[typeof kind];
    if (kind === 'modelType') {
      const typeSpec = spec as RegistrySpecs['modelType'];
      const typeBefore = before as StoredModelType | null;
      const decision = decideCriticality(actor, typeBefore?.spec.criticality ?? null, typeSpec.criticality);
      if (decision.kind === 'hold') {
        heldElevations.push({ type: key, from: decision.tier, requested: decision.requested });
        spec = { ...typeSpec, criticality: decision.tier } as typeof spec;
      } else if (typeBefore && typeBefore.spec.criticality !== decision.tier) {
        tierSetDirectly.add(key);
      }
    }
    const after = { ...nextEntry(kind, key, before, spec), ...(kind === 'modelType' ? derivedOf(before as StoredModelType | null) : {}) } as Stored[typeof kind];
    try {
      authorize(actor, kind, key, before, after, current, original);
    } catch (error) {
      // A refusal about particular fields points at them; any other at the entry's key.
      if (error instanceof DomainError) {
        const details = error.details.length ? error.details : [{ path: keyField[kind], message: error.message }];
        problems.add(error.code, details.map((d) => ({ path: at(index, d.path), message: d.message })));
      } else throw error;
      continue;
    }
    // An identical write changes nothing and records nothing (authorized first, so it reveals nothing either).
    if (before && jsonEqual(before.spec, spec) && action !== 'revert') continue;
    record(kind, key, action, before, after);
  }
  problems.throwIfAny();

  // Cross-entry invariants on the final state of every model type the ops touched.
  const deletedTeams = [...current.team].filter(([name, entry]) => entry === null && original.team.has(name)).map(([name]) => name);
  for (const type of await tx.modelTypesOfTeams(deletedTeams)) {
    if (!current.modelType.has(type.spec.name)) current.modelType.set(type.spec.name, type);
  }
  for (const [name, entry] of current.modelType) {
    if (entry) continue;
    if (original.modelType.has(name)) touchedTypes.add(name);
  }
  const missingTypes = [...touchedTypes].filter((t) => !current.modelType.has(t));
  for (const type of await tx.modelTypes(missingTypes)) current.modelType.set(type.spec.name, type);
  const storedModels = await tx.modelsOfTypes([...touchedTypes]);
  const slices = new Map<string, TypeSlice>();
  const settingCriticality = new Set(
    [...current.model]
      .filter(([id, model]) => model !== null && (original.model.get(id)?.spec.criticality ?? null) !== (model.spec.criticality ?? null))
      .map(([id]) => id),
  );
  for (const name of touchedTypes) {
    slices.set(name, { name, type: current.modelType.get(name) ?? null, models: new Map(), existedBefore: original.modelType.has(name), settingCriticality });
  }
  for (const model of storedModels) {
    if (!current.model.has(model.spec.id)) slices.get(model.spec.modelType)?.models.set(model.spec.id, model);
  }
  for (const [id, model] of current.model) {
    if (model) slices.get(model.spec.modelType)?.models.set(id, model);
  }

  const teamExists = async (names: string[]) => {
    const unknown = names.filter((n) => !current.team.has(n));
    for (const team of await tx.teams(unknown)) current.team.set(team.spec.name, team);
    return (name: string) => current.team.get(name) != null;
  };
  const hasTeam = await teamExists([...new Set([...slices.values()].flatMap((s) => (s.type ? [s.type.spec.ownerTeam] : [])))]);
  const invariantProblems: ErrorDetail[] = [];
  for (const [name, team] of current.team) {
    if (team === null && original.team.has(name)) {
      const owned = [...current.modelType.values()].filter((t) => t?.spec.ownerTeam === name).map((t) => t!.spec.name);
      if (owned.length) {
        invariantProblems.push({
          path: `teams.${name}`,
          message: `team '${name}' still owns ${owned.length} model type(s) (${owned.slice(0, 5).join(', ')}${owned.length > 5 ? ', ...' : ''}): move or delete them first`,
        });
      }
    }
  }
  const derived = new Map<string, ModelTypeDerived>();
  for (const slice of slices.values()) {
    const result = checkModelTypeInvariants(slice, { hasTeam, extensions });
    invariantProblems.push(...result.problems);
    if (slice.type) derived.set(slice.name, result.derived);
  }
  if (invariantProblems.length) {
    problems.add('conflict', invariantProblems);
    problems.throwIfAny();
  }

  // Keep derived values and model type entries in step.
  for (const [name, value] of derived) {
    const type = current.modelType.get(name);
    if (type) current.modelType.set(name, { ...type, ...value });
    const write = writes.get(`modelType\u0000${name}`);
    if (write?.entry) write.entry = { ...write.entry, ...value } as StoredModelType;
  }

  await tx.writeEntries([...writes.values()], derived);
  const changes = await tx.appendChanges(drafts);

  const approvals: Approval[] = [];
  if (heldElevations.length) {
    const pendingByType = new Map<string, Approval[]>();
    for (const a of await tx.pendingApprovals(heldElevations.map((h) => h.type))) {
      pendingByType.set(a.modelType, [...(pendingByType.get(a.modelType) ?? []), a]);
    }
    for (const held of heldElevations) {
      const same = (pendingByType.get(held.type) ?? []).find((a) => a.requestedCriticality === held.requested && a.fromCriticality === held.from);
      if (same) {
        approvals.push(same);
        continue;
      }
      for (const old of pendingByType.get(held.type) ?? []) {
        await tx.decideApproval(old.id, 'superseded', actor.name, options.now, 'a newer elevation request replaced it');
      }
      approvals.push(
        await tx.insertApproval({
          modelType: held.type,
          fromCriticality: held.from,
          requestedCriticality: held.requested,
          status: 'pending',
          requestedBy: actor.name,
          requestedAt: options.now,
          requestReason: options.reason,
          decidedBy: null,
          decidedAt: null,
          decisionReason: null,
        }),
      );
    }
  }
  if (tierSetDirectly.size) {
    for (const moot of await tx.pendingApprovals([...tierSetDirectly])) {
      await tx.decideApproval(moot.id, 'superseded', actor.name, options.now, `the tier was set to ${current.modelType.get(moot.modelType)?.spec.criticality ?? 'another tier'} directly`);
    }
  }
  for (const approval of decidedApprovals) {
    await tx.decideApproval(approval.id, 'approved', actor.name, options.now, options.reason);
    approvals.push({ ...approval, status: 'approved', decidedBy: actor.name, decidedAt: options.now, decisionReason: options.reason });
  }
  return { changes, approvals, teams: current.team, modelTypes: current.modelType, models: current.model };
}

function derivedOf(type: StoredModelType | null): ModelTypeDerived {
  return type ? { baselineModelId: type.baselineModelId, holdoutModelId: type.holdoutModelId } : emptyDerived;
}

/** The spec as a writer would send it back: what a merge patch applies to. */
function writableSpec(kind: RegistryKind, entry: { spec: unknown }): unknown {
  if (kind !== 'modelType') return entry.spec;
  const { baselineModelId: _b, holdoutModelId: _h, ...rest } = entry.spec as RegistrySpecs['modelType'];
  return rest;
}

function authorize(
  actor: Actor,
  kind: RegistryKind,
  key: string,
  before: Stored[RegistryKind] | null,
  after: Stored[RegistryKind] | null,
  current: { modelType: Map<string, StoredModelType | null> },
  original: { modelType: Map<string, StoredModelType> },
): void {
  if (kind === 'team') {
    return assertCanWriteTeam(actor, key, (before as StoredTeam | null)?.spec ?? null, (after as StoredTeam | null)?.spec ?? null);
  }
  if (kind === 'modelType') {
    const ownerBefore = (before as StoredModelType | null)?.spec.ownerTeam ?? null;
    const ownerAfter = (after as StoredModelType | null)?.spec.ownerTeam ?? null;
    return assertCanWriteOwned(actor, `model type '${key}'`, ownerBefore, ownerAfter);
  }
  const typeOf = (model: Stored[RegistryKind] | null) => (model as StoredModel | null)?.spec.modelType ?? null;
  const typeBefore = typeOf(before);
  const typeAfter = typeOf(after);
  const ownerBefore = typeBefore ? (original.modelType.get(typeBefore)?.spec.ownerTeam ?? null) : null;
  const ownerAfter = typeAfter ? (current.modelType.get(typeAfter)?.spec.ownerTeam ?? null) : null;
  assertCanWriteOwned(actor, `model '${key}'`, ownerBefore, ownerAfter);
}

