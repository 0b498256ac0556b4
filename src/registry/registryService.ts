import { DomainError, type ErrorDetail, conflict, invalidInput, notFound, preconditionFailed } from '../core/errors.js';
import { parseOrThrow } from '../core/zodIssues.js';
import { assertAdmin } from './access.js';
import type { Actor } from './actor.js';
import type { Approval, ApprovalStatus } from './approval.js';
import type { ChangeRecord } from './change.js';
import { ChangeFeed } from './changeFeed.js';
import type { RegistryKind, StoredModel, StoredModelType, StoredTeam } from './entry.js';
import { ExtensionSchemaInputSchema, type ExtensionSchema } from './extensionSchema.js';
import { compileExtensionSchema } from './extensionValidation.js';
import type { Model } from './model.js';
import type { ModelType } from './modelType.js';
import type { ListQuery, ModelListQuery, ModelTypeListQuery, Page, RegistryStore } from './registryStore.js';
import { RegistrySettingsSchema, type RegistrySettings } from './settings.js';
import { checkSpec, inputKey, kindLabel } from './specs.js';
import { planChanges, type DesiredEntry, type PlannedChange } from './configPlan.js';
import type { Team } from './team.js';
import { modelTypeView, modelView, teamView } from './views.js';
import { executeWrites, type RegistryOp, type WriteOutcome } from './writePipeline.js';
import { endExperimentOps } from './endExperiment.js';

export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };

export interface ApplyResult {
  applied: boolean;
  changes: PlannedChange[];
  summary: { create: number; update: number; delete: number };
}

export type RegistryView = { team: Team; modelType: ModelType; model: Model };

export interface WriteResult<V> {
  entry: V | null;
  change: ChangeRecord | null;
  approvals: Approval[];
}

/**
 * The registry's use cases: reads shaped for users, and writes through the single write pipeline.
 * Knows nothing of HTTP; the API and the CLI call it with an `Actor`.
 */
export class RegistryService {
  readonly feed: ChangeFeed;

  constructor(
    readonly store: RegistryStore,
    private readonly clock: Clock = systemClock,
  ) {
    this.feed = new ChangeFeed(store);
  }

  now(): string {
    return this.clock.now().toISOString();
  }

  // ---- reads ----

  async getTeam(name: string): Promise<Team> {
    const [team] = await this.store.teams([name]);
    if (!team) throw notFound(`team '${name}' does not exist`);
    return (await this.teamViews([team]))[0]!;
  }

  async getModelType(name: string): Promise<ModelType> {
    const [type] = await this.store.modelTypes([name]);
    if (!type) throw notFound(`model type '${name}' does not exist`);
    return (await this.modelTypeViews([type]))[0]!;
  }

  async getModel(id: string): Promise<Model> {
    const [model] = await this.store.models([id]);
    if (!model) throw notFound(`model '${id}' does not exist`);
    return (await this.modelViews([model]))[0]!;
  }

  async listTeams(query: ListQuery): Promise<Page<Team>> {
    const page = await this.store.listTeams(query);
    return { items: await this.teamViews(page.items), nextCursor: page.nextCursor };
  }

  async listModelTypes(query: ModelTypeListQuery): Promise<Page<ModelType>> {
    const page = await this.store.listModelTypes(query);
    return { items: await this.modelTypeViews(page.items), nextCursor: page.nextCursor };
  }

  async listModels(query: ModelListQuery): Promise<Page<Model>> {
    const page = await this.store.listModels(query);
    return {
      items: page.items.map((m) => modelView(m, (m as StoredModel & { typeCriticality: ModelType['criticality'] }).typeCriticality)),
      nextCursor: page.nextCursor,
    };
  }

  async history(kind: RegistryKind | 'extensionSchema', key: string): Promise<ChangeRecord[]> {
    const changes = await this.store.changesOf(kind, key);
    if (!changes.length) throw notFound(`${kind === 'extensionSchema' ? 'extension schema' : kindLabel[kind]} '${key}' has no history: it never existed`);
    return changes;
  }

  async teamViews(teams: StoredTeam[]): Promise<Team[]> {
    const members = await this.store.teamMembers(teams.map((t) => t.spec.name));
    return teams.map((t) => teamView(t, members.get(t.spec.name) ?? []));
  }

  async modelTypeViews(types: StoredModelType[]): Promise<ModelType[]> {
    const pending = new Map((await this.store.pendingApprovals(types.map((t) => t.spec.name))).map((a) => [a.modelType, a]));
    return types.map((t) => modelTypeView(t, pending.get(t.spec.name) ?? null));
  }

  async modelViews(models: StoredModel[]): Promise<Model[]> {
    const types = new Map((await this.store.modelTypes(models.map((m) => m.spec.modelType))).map((t) => [t.spec.name, t]));
    return models.map((m) => modelView(m, types.get(m.spec.modelType)?.spec.criticality ?? 'TIER4'));
  }

  // ---- writes ----

  /**
   * On-call's safe first response to an unstable experiment: retire it and move its traffic back to
   * the baseline, recorded in history with the reason. Refuses a baseline or holdout with what to do.
   */
  async endExperiment(actor: Actor, id: string, reason: string | null): Promise<{ model: Model; baseline: Model | null; changes: ChangeRecord[] }> {
    const model = await this.getModel(id);
    const type = await this.getModelType(model.modelType);
    const baseline = type.baselineModelId ? await this.getModel(type.baselineModelId) : null;
    const outcome = await this.execute(actor, endExperimentOps(model, type, baseline), { reason: reason ?? `experiment ${id} ended; traffic back to the baseline` });
    return {
      model: await this.getModel(id),
      baseline: baseline && outcome.models.has(baseline.id) ? await this.getModel(baseline.id) : baseline,
      changes: outcome.changes,
    };
  }

  /** Runs ops in one transaction; `dryRun` checks everything, then rolls back. */
  async execute(actor: Actor, ops: RegistryOp[], options: { reason?: string | null; dryRun?: boolean; opPath?: (i: number) => string } = {}): Promise<WriteOutcome> {
    const now = this.now();
    const rollback = Symbol('dry run');
    let outcome: WriteOutcome | undefined;
    try {
      await this.store.transaction(async (tx) => {
        outcome = await executeWrites(tx, actor, ops, { reason: options.reason ?? null, now, ...(options.opPath ? { opPath: options.opPath } : {}) });
        if (options.dryRun) throw rollback;
      });
    } catch (error) {
      if (error !== rollback) throw error;
    }
    if (!options.dryRun && outcome?.changes.length) this.feed.committed();
    return outcome!;
  }

  async write<K extends RegistryKind>(actor: Actor, kind: K, op: RegistryOp, reason: string | null): Promise<WriteResult<RegistryView[K]>> {
    const outcome = await this.execute(actor, [op], { reason });
    const key = op.action === 'create' ? (inputKey(kind, op.input) ?? '') : 'key' in op ? op.key : '';
    const change = outcome.changes.at(-1) ?? null;
    return { entry: await this.viewFromOutcome(kind, key, outcome), change, approvals: outcome.approvals };
  }

  private async viewFromOutcome<K extends RegistryKind>(kind: K, key: string, outcome: WriteOutcome): Promise<RegistryView[K] | null> {
    if (kind === 'team') {
      const team = outcome.teams.get(key);
      return team ? ((await this.teamViews([team]))[0] as RegistryView[K]) : null;
    }
    if (kind === 'modelType') {
      const type = outcome.modelTypes.get(key);
      return type ? ((await this.modelTypeViews([type]))[0] as RegistryView[K]) : null;
    }
    const model = outcome.models.get(key);
    if (!model) return null;
    const type = outcome.modelTypes.get(model.spec.modelType);
    return (type ? modelView(model, type.spec.criticality) : (await this.modelViews([model]))[0]) as RegistryView[K];
  }

  // ---- config as code ----

  /**
   * Plans (and unless `dryRun`, applies in one transaction) a directory's desired entries. A dry run
   * goes through every check apply would, then rolls back, so a clean plan means apply will succeed.
   */
  async applyConfig(actor: Actor, desired: DesiredEntry[], options: { prune: boolean; dryRun: boolean; reason: string | null }): Promise<ApplyResult> {
    const settings = await this.store.settings();
    const where = (i: number) => desired[i]?.source ?? `documents[${i}]`;
    const problems: ErrorDetail[] = [];
    const canonical: Parameters<typeof planChanges>[0] = [];
    for (const [index, entry] of desired.entries()) {
      const checked = checkSpec(entry.kind, entry.input, settings);
      if (!checked.spec) {
        problems.push(...checked.problems.map((d) => ({ path: `${where(index)} ${d.path}`, message: d.message })));
        continue;
      }
      const key = inputKey(entry.kind, entry.input)!;
      canonical.push({ kind: entry.kind, key, spec: checked.spec, input: entry.input, source: entry.source ?? null, index });
    }
    if (problems.length) throw invalidInput(`${problems.length} document(s) are invalid: ${problems.slice(0, 3).map((d) => `${d.path}: ${d.message}`).join('; ')}`, problems);

    const keysOf = (kind: RegistryKind) => canonical.filter((c) => c.kind === kind).map((c) => c.key);
    const stored = {
      team: new Map((await this.store.teams(keysOf('team'))).map((e) => [e.spec.name, e] as const)),
      modelType: new Map((await this.store.modelTypes(keysOf('modelType'))).map((e) => [e.spec.name, e] as const)),
      model: new Map((await this.store.models(keysOf('model'))).map((e) => [e.spec.id, e] as const)),
    };
    let prune: { team: string[]; modelType: string[]; model: string[] } | null = null;
    if (options.prune) {
      const scopeTeams = new Set([...keysOf('team'), ...canonical.filter((c) => c.kind === 'modelType').map((c) => (c.spec as ModelType).ownerTeam)]);
      const types = await this.store.modelTypesOfTeams([...scopeTeams]);
      const models = await this.store.modelsOfTypes(types.map((t) => t.spec.name));
      for (const t of types) if (!stored.modelType.has(t.spec.name)) stored.modelType.set(t.spec.name, t);
      for (const m of models) if (!stored.model.has(m.spec.id)) stored.model.set(m.spec.id, m);
      prune = { team: [], modelType: types.map((t) => t.spec.name), model: models.map((m) => m.spec.id) };
    }
    const plan = planChanges(canonical, stored as never, prune);
    if (plan.ops.length) {
      try {
        await this.execute(actor, plan.ops, {
          reason: options.reason,
          dryRun: options.dryRun,
          opPath: (i) => plan.opSources[i] ?? `${plan.changes[i]?.kind ?? 'entry'} ${plan.changes[i]?.key ?? i}`,
        });
      } catch (error) {
        throw error instanceof DomainError ? withSources(error, canonical) : error;
      }
    }
    const count = (action: PlannedChange['action']) => plan.changes.filter((c) => c.action === action).length;
    return { applied: !options.dryRun && plan.ops.length > 0, changes: plan.changes, summary: { create: count('create'), update: count('update'), delete: count('delete') } };
  }

  // ---- approvals ----

  async listApprovals(status: ApprovalStatus | null, limit = 100): Promise<Approval[]> {
    return this.store.listApprovals(status, limit);
  }

  async approve(actor: Actor, id: number, reason: string | null): Promise<{ approval: Approval; modelType: ModelType }> {
    assertAdmin(actor, `approving elevation ${id}`);
    const outcome = await this.execute(actor, [{ action: 'approve', approvalId: id }], { reason });
    const approval = outcome.approvals.find((a) => a.id === id)!;
    return { approval, modelType: (await this.modelTypeViews([outcome.modelTypes.get(approval.modelType)!]))[0]! };
  }

  async reject(actor: Actor, id: number, reason: string | null): Promise<Approval> {
    assertAdmin(actor, `rejecting elevation ${id}`);
    if (!reason) throw invalidInput('say why the elevation is rejected, so the requester knows what to change', [{ path: 'reason', message: 'required' }]);
    const now = this.now();
    const approval = await this.store.transaction(async (tx) => {
      const found = await tx.approval(id);
      if (!found) throw notFound(`approval ${id} does not exist; list them with GET /api/v1/approvals`);
      if (found.status !== 'pending') throw conflict(`approval ${id} is already ${found.status}; only pending approvals can be decided`);
      const [type] = await tx.modelTypes([found.modelType]);
      const snapshot = type ? { ...type.spec, version: type.version } : null;
      // The change first: appending takes the ledger lock, which writers hold while they supersede approvals.
      await tx.appendChanges([
        { entity: 'modelType', entityId: found.modelType, version: type?.version ?? 0, action: 'reject', actor: actor.name, at: now, reason, before: snapshot, after: snapshot },
      ]);
      await tx.decideApproval(id, 'rejected', actor.name, now, reason);
      return { ...found, status: 'rejected' as const, decidedBy: actor.name, decidedAt: now, decisionReason: reason };
    });
    this.feed.committed();
    return approval;
  }

  // ---- settings ----

  async settings(): Promise<RegistrySettings> {
    return this.store.settings();
  }

  async putSettings(actor: Actor, input: unknown, reason: string | null): Promise<RegistrySettings> {
    assertAdmin(actor, 'changing registry settings');
    const settings = parseOrThrow(RegistrySettingsSchema, input, 'registry settings');
    const now = this.now();
    await this.store.transaction(async (tx) => {
      const before = await tx.settings();
      const seq = (await tx.changesOf('settings', 'registry')).length;
      await tx.putSettings(settings);
      await tx.appendChanges([{ entity: 'settings', entityId: 'registry', version: seq + 1, action: seq ? 'update' : 'create', actor: actor.name, at: now, reason, before, after: settings }]);
    });
    this.feed.committed();
    return settings;
  }

  // ---- extension schemas ----

  async listExtensionSchemas(): Promise<ExtensionSchema[]> {
    return (await this.store.extensionSchemas()).map((e) => ({ ...e.spec, version: e.version, createdAt: e.createdAt, updatedAt: e.updatedAt }));
  }

  async getExtensionSchema(name: string): Promise<ExtensionSchema> {
    const found = (await this.listExtensionSchemas()).find((s) => s.name === name);
    if (!found) throw notFound(`extension schema '${name}' does not exist`);
    return found;
  }

  async putExtensionSchema(actor: Actor, input: unknown, ifVersion: number | null, reason: string | null, mode: 'create' | 'update'): Promise<ExtensionSchema> {
    assertAdmin(actor, 'registering extension schemas');
    const spec = parseOrThrow(ExtensionSchemaInputSchema, input, 'extension schema');
    try {
      compileExtensionSchema(spec);
    } catch (error) {
      throw invalidInput(`extension schema '${spec.name}' is not a valid JSON Schema: ${(error as Error).message}`, [{ path: 'schema', message: (error as Error).message }]);
    }
    const now = this.now();
    const stored = await this.store.transaction(async (tx) => {
      const before = (await tx.extensionSchemas()).find((e) => e.spec.name === spec.name) ?? null;
      if (mode === 'create' && before) throw conflict(`extension schema '${spec.name}' already exists (version ${before.version}); update it with PUT and If-Match`);
      if (mode === 'update' && !before) throw notFound(`extension schema '${spec.name}' does not exist`);
      if (before && ifVersion !== null && ifVersion !== before.version) {
        throw preconditionFailed(`extension schema '${spec.name}' is at version ${before.version}, not ${ifVersion}: read it again and retry`);
      }
      if (spec.team !== null && !(await tx.teams([spec.team])).length) {
        throw conflict(`team '${spec.team}' does not exist: create it first, or omit team for a global schema`, [{ path: 'team', message: 'unknown team' }]);
      }
      const entry = { spec, version: (before?.version ?? 0) + 1, createdAt: before?.createdAt ?? now, updatedAt: now };
      await tx.putExtensionSchema(entry, before?.version ?? null);
      await tx.appendChanges([
        {
          entity: 'extensionSchema',
          entityId: spec.name,
          version: entry.version,
          action: before ? 'update' : 'create',
          actor: actor.name,
          at: now,
          reason,
          before: before ? { ...before.spec, version: before.version } : null,
          after: { ...spec, version: entry.version },
        },
      ]);
      return entry;
    });
    this.feed.committed();
    return { ...stored.spec, version: stored.version, createdAt: stored.createdAt, updatedAt: stored.updatedAt };
  }

  async deleteExtensionSchema(actor: Actor, name: string, ifVersion: number, reason: string | null): Promise<void> {
    assertAdmin(actor, 'deleting extension schemas');
    const now = this.now();
    await this.store.transaction(async (tx) => {
      const before = (await tx.extensionSchemas()).find((e) => e.spec.name === name);
      if (!before) throw notFound(`extension schema '${name}' does not exist`);
      if (ifVersion !== before.version) throw preconditionFailed(`extension schema '${name}' is at version ${before.version}, not ${ifVersion}: read it again and retry`);
      await tx.deleteExtensionSchema(name, before.version);
      await tx.appendChanges([
        { entity: 'extensionSchema', entityId: name, version: before.version + 1, action: 'delete', actor: actor.name, at: now, reason, before: { ...before.spec, version: before.version }, after: null },
      ]);
    });
    this.feed.committed();
  }
}

const pathPrefix: Record<RegistryKind, string> = { team: 'teams', modelType: 'modelTypes', model: 'models' };

/**
 * Points the cross-entry problems of an apply (`models.<id>.thresholds.PSAVE`) at the document that
 * declared the entry (`registry/feed.yaml:40 models.<id>.thresholds.PSAVE`), so people can open the line.
 */
function withSources(error: DomainError, desired: Array<{ kind: RegistryKind; key: string; source: string | null }>): DomainError {
  const sources = desired.filter((d) => d.source).sort((a, b) => b.key.length - a.key.length);
  const details = error.details.map((detail) => {
    const owner = sources.find((d) => {
      const prefix = `${pathPrefix[d.kind]}.${d.key}`;
      return detail.path === prefix || detail.path.startsWith(`${prefix}.`);
    });
    return owner ? { ...detail, path: `${owner.source} ${detail.path}` } : detail;
  });
  return new DomainError(error.code, error.message, details);
}
