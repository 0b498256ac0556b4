import { type Kysely, sql } from 'kysely';
import { invalidInput } from '../core/errors.js';
import type { ApprovalStatus } from '../registry/approval.js';
import type { StoredModel, StoredModelType, StoredTeam } from '../registry/entry.js';
import type { AssetRow, ListQuery, ModelListQuery, ModelTypeListQuery, Page } from '../registry/registryStore.js';
import type { EntityKind } from '../registry/vocabulary.js';
import { rowToApproval, rowToChange, rowToModel, rowToModelType, rowToTeam } from './entryRows.js';
import type { DialectName } from './database.js';
import type { Database } from './schema.js';

/** Cursors are the last key of a page, opaque to clients; ordering by primary key keeps pages stable under writes. */
export const encodeCursor = (key: string) => Buffer.from(key, 'utf8').toString('base64url');
export function decodeCursor(cursor: string | null | undefined): string | null {
  if (cursor === null || cursor === undefined) return null;
  const key = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!key || encodeCursor(key) !== cursor) {
    throw invalidInput(`cursor '${cursor}' is not one this server issued: pass nextCursor from a previous page unchanged`, [
      { path: 'cursor', message: 'not a cursor this server issued; pass nextCursor from a previous page unchanged, or omit cursor for the first page' },
    ]);
  }
  return key;
}

function page<T>(items: T[], limit: number, keyOf: (item: T) => string): Page<T> {
  const more = items.length > limit;
  const kept = more ? items.slice(0, limit) : items;
  return { items: kept, nextCursor: more ? encodeCursor(keyOf(kept[kept.length - 1]!)) : null };
}

const likePattern = (q: string) => `%${q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** The type's columns lists filter on; model rows carry copies of them under the same names. */
const typeFilterColumns = { app: 'app', surface: 'surface', architecture: 'architecture', funnelStage: 'funnel_stage', ownerTeam: 'owner_team' } as const;

function typeFilters(alias: 't' | 'm', query: ModelTypeListQuery) {
  return (Object.keys(typeFilterColumns) as Array<keyof typeof typeFilterColumns>)
    .filter((field) => query[field] !== undefined)
    .map((field) => sql<boolean>`${sql.ref(`${alias}.${typeFilterColumns[field]}`)} = ${query[field]}`);
}

/** Free text over the search column, and a tag through the tag index. */
function textAndTagFilters(entity: 'modelType' | 'model', searchColumn: string, keyColumn: string, query: ListQuery) {
  const filters = [];
  if (query.q) filters.push(sql<boolean>`${sql.ref(searchColumn)} like ${likePattern(query.q)} escape '\\'`);
  if (query.tag) {
    filters.push(sql<boolean>`exists (select 1 from entity_tags g where g.entity = ${entity} and g.entity_id = ${sql.ref(keyColumn)} and g.tag = ${query.tag})`);
  }
  return filters;
}

/** Filtered, cursor-paginated lists. */
export function registryLists(db: Kysely<Database>, dialect: DialectName) {
  // A team's free text is its name, description and on-call rotation: matching the stored JSON text
  // instead made every team match its field names (q=description) and missed escaped characters.
  const teamField = (field: string) => (dialect === 'postgres' ? sql`(doc::json ->> ${sql.lit(field)})` : sql`json_extract(doc, ${sql.lit(`$.${field}`)})`);
  const teamText = sql`lower(name || ' ' || coalesce(${teamField('description')}, '') || ' ' || coalesce(${teamField('oncallRotation')}, ''))`;
  return {
    async listTeams(query: ListQuery): Promise<Page<StoredTeam>> {
      const after = decodeCursor(query.cursor);
      let q = db.selectFrom('teams').selectAll().orderBy('name').limit(query.limit + 1);
      if (after !== null) q = q.where('name', '>', after);
      if (query.q) q = q.where(sql`${teamText} like ${likePattern(query.q)} escape '\\'`, '=', sql`true`);
      const rows = await q.execute();
      return page(rows.map(rowToTeam), query.limit, (t) => t.spec.name);
    },

    async listModelTypes(query: ModelTypeListQuery): Promise<Page<StoredModelType>> {
      const after = decodeCursor(query.cursor);
      let q = db.selectFrom('model_types as t').selectAll('t').orderBy('t.name').limit(query.limit + 1);
      if (after !== null) q = q.where('t.name', '>', after);
      for (const filter of typeFilters('t', query)) q = q.where(filter);
      if (query.criticality) q = q.where('t.criticality', '=', query.criticality);
      for (const filter of textAndTagFilters('modelType', 't.search', 't.name', query)) q = q.where(filter);
      const rows = await q.execute();
      return page(rows.map(rowToModelType), query.limit, (t) => t.spec.name);
    },

    async listModels(query: ModelListQuery): Promise<Page<StoredModel & { typeCriticality: string }>> {
      const after = decodeCursor(query.cursor);
      // The filters pick the page's ids first and the documents are read for that page only: sorting
      // whole rows of every match made broad filters read thousands of documents to return 100.
      let q = db.selectFrom('models as m').select('m.id').orderBy('m.id').limit(query.limit + 1);
      if (after !== null) q = q.where('m.id', '>', after);
      if (query.modelType) q = q.where('m.model_type', '=', query.modelType);
      if (query.role) q = q.where('m.role', '=', query.role);
      for (const filter of typeFilters('m', query)) q = q.where(filter);
      // A model's tier is its type's unless lowered, kept in effective_criticality on every write.
      if (query.criticality) q = q.where('m.effective_criticality', '=', query.criticality);
      for (const filter of textAndTagFilters('model', 'm.search', 'm.id', query)) q = q.where(filter);
      const rows = await db
        .selectFrom('models as p')
        .innerJoin('model_types as pt', 'pt.name', 'p.model_type')
        .select(['p.doc', 'p.version', 'p.created_at', 'p.updated_at', 'pt.criticality as type_criticality'])
        .where('p.id', 'in', q)
        .orderBy('p.id')
        .execute();
      return page(
        rows.map((r) => ({ ...rowToModel(r), typeCriticality: r.type_criticality })),
        query.limit,
        (m) => m.spec.id,
      );
    },

    async listChanges(after: number, limit: number, filter: { entity?: EntityKind | undefined; entityId?: string | undefined } = {}) {
      let q = db.selectFrom('changes').selectAll().where('seq', '>', after).orderBy('seq').limit(limit);
      if (filter.entity) q = q.where('entity', '=', filter.entity);
      if (filter.entityId) q = q.where('entity_id', '=', filter.entityId);
      return (await q.execute()).map(rowToChange);
    },

    async latestSeq(): Promise<number> {
      const row = await db.selectFrom('changes').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirst();
      return Number(row?.seq ?? 0);
    },

    async listApprovals(status: ApprovalStatus | null, limit: number) {
      let q = db.selectFrom('approvals').selectAll().orderBy('id', 'desc').limit(limit);
      if (status) q = q.where('status', '=', status);
      return (await q.execute()).map(rowToApproval);
    },

    async listAssets(filter: { modelType?: string | undefined; kind?: string | undefined; uri?: string | undefined }, limit: number): Promise<AssetRow[]> {
      let q = db.selectFrom('assets').selectAll().orderBy('model_id').orderBy('name').limit(limit);
      if (filter.modelType) q = q.where('model_type', '=', filter.modelType);
      if (filter.kind) q = q.where('kind', '=', filter.kind);
      if (filter.uri) q = q.where('uri', '=', filter.uri);
      const rows = await q.execute();
      return rows.map((r) => ({ modelId: r.model_id, modelType: r.model_type, name: r.name, kind: r.kind, uri: r.uri }));
    },
  };
}
