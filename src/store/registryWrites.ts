import { sql, type Kysely } from 'kysely';
import { preconditionFailed, conflict } from '../core/errors.js';
import { chunks } from '../core/json.js';
import { diffPatch } from '../registry/change.js';
import type { StoredModel, StoredModelType, StoredTeam } from '../registry/entry.js';
import type { RegistryTx } from '../registry/registryStore.js';
import type { DialectName } from './database.js';
import { modelToRow, modelTypeToRow, rowToApproval, rowToChange, teamToRow } from './entryRows.js';
import { IN_CHUNK, registryReads } from './registryReads.js';
import { filterAssignments } from './migrations/003_models_filter_columns.js';
import type { Database } from './schema.js';

/** Rows per multi-row INSERT: large enough to batch, small enough for SQLite's parameter limit. */
const INSERT_CHUNK = 200;

const tableOf = { team: 'teams', modelType: 'model_types', model: 'models' } as const;
const keyColumnOf = { team: 'name', modelType: 'name', model: 'id' } as const;

/** Recognizes unique-key violations from either driver, so a lost race reads as a conflict, not a crash. */
export function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** The registry's writes inside one transaction. */
export function registryTx(db: Kysely<Database>, dialect: DialectName): RegistryTx {
  return {
    ...registryReads(db),

    async lockModelTypes(names) {
      if (dialect !== 'postgres' || !names.length) return;
      const sorted = [...new Set(names)].sort();
      for (const chunk of chunks(sorted, IN_CHUNK)) {
        await db.selectFrom('model_types').select('name').where('name', 'in', chunk).orderBy('name').forUpdate().execute();
      }
    },

    async writeEntries(writes, derived) {
      // Deletes first and model types before models, so unique keys see the final state.
      const order = { model: 0, modelType: 1, team: 2 } as const;
      const deletes = writes.filter((w) => w.action === 'delete').sort((a, b) => order[a.kind] - order[b.kind]);
      for (const write of deletes) {
        const table = tableOf[write.kind];
        const result = await db
          .deleteFrom(table)
          .where(keyColumnOf[write.kind] as never, '=', write.key as never)
          .where('version', '=', write.expectedVersion!)
          .executeTakeFirst();
        if (Number(result.numDeletedRows) !== 1) throw lostRace(write.kind, write.key);
      }
      // Entries giving up a baseline or holdout role go first, so a swap never trips the one-baseline index mid-way.
      const claimsUniqueRole = (w: (typeof writes)[number]) =>
        w.kind === 'model' && ['baseline', 'holdout'].includes((w.entry as StoredModel).spec.role) ? 1 : 0;
      const updates = writes.filter((w) => w.action === 'update').sort((a, b) => claimsUniqueRole(a) - claimsUniqueRole(b));
      for (const write of updates) {
        const entry = write.entry!;
        const row =
          write.kind === 'team' ? teamToRow(entry as StoredTeam) : write.kind === 'modelType' ? modelTypeToRow(entry as StoredModelType) : modelToRow(entry as StoredModel);
        const { [keyColumnOf[write.kind]]: _key, ...values } = row as Record<string, unknown>;
        const result = await db
          .updateTable(tableOf[write.kind])
          .set(values as never)
          .where(keyColumnOf[write.kind] as never, '=', write.key as never)
          .where('version', '=', write.expectedVersion!)
          .executeTakeFirst();
        if (Number(result.numUpdatedRows) !== 1) throw lostRace(write.kind, write.key);
      }
      const creates = writes.filter((w) => w.action === 'create');
      try {
        for (const kind of ['team', 'modelType', 'model'] as const) {
          const rows = creates
            .filter((w) => w.kind === kind)
            .map((w) => (kind === 'team' ? teamToRow(w.entry as StoredTeam) : kind === 'modelType' ? modelTypeToRow(w.entry as StoredModelType) : modelToRow(w.entry as StoredModel)));
          for (const chunk of chunks(rows, INSERT_CHUNK)) await db.insertInto(tableOf[kind]).values(chunk as never).execute();
        }
      } catch (error) {
        if (isUniqueViolation(error)) throw conflict('another writer created the same entry at the same time; read it and retry as an update');
        throw error;
      }

      // Tags and assets are indexes over the documents: rewrite them for every entry written.
      const touched = writes.filter((w) => w.kind !== 'team');
      for (const entity of ['modelType', 'model'] as const) {
        const ids = touched.filter((w) => w.kind === entity).map((w) => w.key);
        for (const chunk of chunks(ids, IN_CHUNK)) {
          await db.deleteFrom('entity_tags').where('entity', '=', entity).where('entity_id', 'in', chunk).execute();
          if (entity === 'model') await db.deleteFrom('assets').where('model_id', 'in', chunk).execute();
        }
      }
      const tagRows = touched.flatMap((w) => {
        if (!w.entry) return [];
        const spec = w.entry.spec as { tags: string[] };
        return spec.tags.map((tag) => ({ entity: w.kind, entity_id: w.key, tag }));
      });
      for (const chunk of chunks(tagRows, INSERT_CHUNK)) await db.insertInto('entity_tags').values(chunk).execute();
      const assetRows = touched.flatMap((w) => {
        if (w.kind !== 'model' || !w.entry) return [];
        const spec = (w.entry as StoredModel).spec;
        return spec.assets.map((a) => ({ model_id: spec.id, model_type: spec.modelType, name: a.name, kind: a.kind, uri: a.uri }));
      });
      for (const chunk of chunks(assetRows, INSERT_CHUNK)) await db.insertInto('assets').values(chunk).execute();

      // Lists filter models on columns copied from their type: refresh them for every type this write
      // touched (a type's owner or tier changed, or models were written).
      const touchedTypes = new Set<string>(derived.keys());
      for (const write of writes) {
        if (write.kind === 'modelType') touchedTypes.add(write.key);
        if (write.kind === 'model' && write.entry) touchedTypes.add((write.entry as StoredModel).spec.modelType);
      }
      for (const chunk of chunks([...touchedTypes], IN_CHUNK)) {
        await sql`update models set ${sql.join(filterAssignments())} where model_type in (${sql.join(chunk)})`.execute(db);
      }

      for (const [name, value] of derived) {
        await db
          .updateTable('model_types')
          .set({ baseline_model_id: value.baselineModelId, holdout_model_id: value.holdoutModelId })
          .where('name', '=', name)
          .execute();
      }
    },

    async appendChanges(drafts) {
      if (dialect === 'postgres' && drafts.length) {
        // Followers read the ledger as "seq > cursor". Sequence numbers are taken at insert but become
        // visible at commit, so two writers could commit out of order and a follower whose cursor passed
        // the later seq would never see the earlier one. Holding one lock from taking seqs to commit makes
        // commit order equal seq order. Take no other lock after this one that a writer holds before it.
        // Keyed by schema, so deployments sharing a database do not wait on each other.
        await sql`select pg_advisory_xact_lock(hashtext('modelfleet:change-ledger'), hashtext(current_schema()))`.execute(db);
      }
      const rows = drafts.map((d) => ({
        entity: d.entity,
        entity_id: d.entityId,
        version: d.version,
        action: d.action,
        actor: d.actor,
        at: d.at,
        reason: d.reason,
        before: d.before === null ? null : JSON.stringify(d.before),
        after: d.after === null ? null : JSON.stringify(d.after),
        patch: JSON.stringify(diffPatch(d.before, d.after)),
      }));
      const out = [];
      for (const chunk of chunks(rows, INSERT_CHUNK)) {
        const inserted = await db.insertInto('changes').values(chunk).returningAll().execute();
        out.push(...inserted.map(rowToChange));
      }
      return out.sort((a, b) => a.seq - b.seq);
    },

    async insertApproval(draft) {
      const row = await db
        .insertInto('approvals')
        .values({
          model_type: draft.modelType,
          from_criticality: draft.fromCriticality,
          requested_criticality: draft.requestedCriticality,
          status: draft.status,
          requested_by: draft.requestedBy,
          requested_at: draft.requestedAt,
          request_reason: draft.requestReason,
          decided_by: draft.decidedBy,
          decided_at: draft.decidedAt,
          decision_reason: draft.decisionReason,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return rowToApproval(row);
    },

    async decideApproval(id, status, decidedBy, decidedAt, reason) {
      const result = await db
        .updateTable('approvals')
        .set({ status, decided_by: decidedBy, decided_at: decidedAt, decision_reason: reason })
        .where('id', '=', id)
        .where('status', '=', 'pending')
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) throw conflict(`approval ${id} was decided by someone else meanwhile; list approvals again`);
    },

    async putSettings(settings) {
      const value = JSON.stringify(settings);
      const updated = await db.updateTable('settings').set({ value }).where('key', '=', 'registry').executeTakeFirst();
      if (Number(updated.numUpdatedRows) === 0) await db.insertInto('settings').values({ key: 'registry', value }).execute();
    },

    async putExtensionSchema(entry, expectedVersion) {
      const row = {
        name: entry.spec.name,
        version: entry.version,
        applies_to: entry.spec.appliesTo,
        team: entry.spec.team,
        doc: JSON.stringify(entry.spec),
        created_at: entry.createdAt,
        updated_at: entry.updatedAt,
      };
      if (expectedVersion === null) {
        try {
          await db.insertInto('extension_schemas').values(row).execute();
        } catch (error) {
          if (isUniqueViolation(error)) throw conflict(`extension schema '${entry.spec.name}' already exists; update it instead`);
          throw error;
        }
        return;
      }
      const { name: _name, ...values } = row;
      const result = await db.updateTable('extension_schemas').set(values).where('name', '=', row.name).where('version', '=', expectedVersion).executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) throw lostRace('extension schema', row.name);
    },

    async deleteExtensionSchema(name, expectedVersion) {
      const result = await db.deleteFrom('extension_schemas').where('name', '=', name).where('version', '=', expectedVersion).executeTakeFirst();
      if (Number(result.numDeletedRows) !== 1) throw lostRace('extension schema', name);
    },
  };
}

function lostRace(kind: string, key: string) {
  return preconditionFailed(`${kind} '${key}' changed while this write was in flight; read it again and retry`);
}
