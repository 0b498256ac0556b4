import type { Kysely } from 'kysely';
import { chunks } from '../core/json.js';
import type { RegistryReads } from '../registry/registryStore.js';
import { defaultRegistrySettings, type RegistrySettings } from '../registry/settings.js';
import { rowToApproval, rowToChange, rowToExtensionSchema, rowToModel, rowToModelType, rowToTeam } from './entryRows.js';
import type { Database } from './schema.js';

/** Keeps `IN (...)` lists well under both drivers' bind-parameter limits. */
export const IN_CHUNK = 500;

async function inChunks<T>(keys: readonly string[], load: (chunk: string[]) => Promise<T[]>): Promise<T[]> {
  const unique = [...new Set(keys)];
  if (!unique.length) return [];
  const out: T[] = [];
  for (const chunk of chunks(unique, IN_CHUNK)) out.push(...(await load(chunk)));
  return out;
}

/** The registry's reads over a connection or a transaction. */
export function registryReads(db: Kysely<Database>): RegistryReads {
  return {
    async settings(): Promise<RegistrySettings> {
      const row = await db.selectFrom('settings').select('value').where('key', '=', 'registry').executeTakeFirst();
      return row ? (JSON.parse(row.value) as RegistrySettings) : defaultRegistrySettings;
    },
    async extensionSchemas() {
      const rows = await db.selectFrom('extension_schemas').selectAll().orderBy('name').execute();
      return rows.map(rowToExtensionSchema);
    },
    teams: (names) => inChunks(names, async (chunk) => (await db.selectFrom('teams').selectAll().where('name', 'in', chunk).execute()).map(rowToTeam)),
    modelTypes: (names) =>
      inChunks(names, async (chunk) => (await db.selectFrom('model_types').selectAll().where('name', 'in', chunk).execute()).map(rowToModelType)),
    models: (ids) => inChunks(ids, async (chunk) => (await db.selectFrom('models').selectAll().where('id', 'in', chunk).execute()).map(rowToModel)),
    modelsOfTypes: (types) =>
      inChunks(types, async (chunk) => (await db.selectFrom('models').selectAll().where('model_type', 'in', chunk).execute()).map(rowToModel)),
    modelTypesOfTeams: (teams) =>
      inChunks(teams, async (chunk) => (await db.selectFrom('model_types').selectAll().where('owner_team', 'in', chunk).execute()).map(rowToModelType)),
    pendingApprovals: (types) =>
      inChunks(types, async (chunk) =>
        (await db.selectFrom('approvals').selectAll().where('model_type', 'in', chunk).where('status', '=', 'pending').orderBy('id').execute()).map(rowToApproval),
      ),
    async approval(id) {
      const row = await db.selectFrom('approvals').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? rowToApproval(row) : null;
    },
    async changesOf(entity, id) {
      const rows = await db.selectFrom('changes').selectAll().where('entity', '=', entity).where('entity_id', '=', id).orderBy('seq').execute();
      return rows.map(rowToChange);
    },
    async lastVersions(entity, ids) {
      const rows = await inChunks(ids, (chunk) =>
        db
          .selectFrom('changes')
          .select(['entity_id', (eb) => eb.fn.max('version').as('version')])
          .where('entity', '=', entity)
          .where('entity_id', 'in', chunk)
          .groupBy('entity_id')
          .execute(),
      );
      return new Map(rows.map((r) => [r.entity_id, Number(r.version)]));
    },
    async teamMembers(teams) {
      const members = new Map<string, string[]>(teams.map((t) => [t, []]));
      const rows = await inChunks(teams, (chunk) =>
        db.selectFrom('tokens').select(['team', 'name']).where('team', 'in', chunk).where('role', '=', 'member').where('revoked_at', 'is', null).orderBy('name').execute(),
      );
      for (const row of rows) members.get(row.team!)?.push(row.name);
      return members;
    },
  };
}
