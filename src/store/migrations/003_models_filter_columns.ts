import { type Kysely, sql } from 'kysely';

/** The model list's filter columns, copied from each model's type (see `refreshModelFilterColumns`). */
export const MODEL_FILTER_COLUMNS = ['app', 'surface', 'architecture', 'funnel_stage', 'owner_team'] as const;

/**
 * Model lists filter on their type's app, surface, architecture, funnel stage and owner, and on the
 * model's effective tier, and page in id order. Joining the type for every candidate row made broad
 * filters scan tens of thousands of models; copying those columns onto the model row lets each filter
 * walk its own (column, id) index in page order and stop after one page.
 */
export function modelsFilterColumnsMigration() {
  return {
    async up(db: Kysely<any>): Promise<void> {
      for (const column of [...MODEL_FILTER_COLUMNS, 'effective_criticality']) {
        await db.schema.alterTable('models').addColumn(column, 'text').execute();
      }
      await refreshAll(db);
      for (const column of [...MODEL_FILTER_COLUMNS, 'effective_criticality']) {
        await db.schema.createIndex(`models_by_${column}`).on('models').columns([column, 'id']).execute();
      }
    },
  };
}

async function refreshAll(db: Kysely<any>): Promise<void> {
  await sql`update models set ${sql.join(filterAssignments())}`.execute(db);
}

/** `column = (the type's value)` for every copied column, plus the effective tier (lowered or the type's). */
export function filterAssignments() {
  const fromType = (column: string) => sql`${sql.ref(column)} = (select t.${sql.ref(column)} from model_types t where t.name = models.model_type)`;
  return [
    ...MODEL_FILTER_COLUMNS.map(fromType),
    sql`effective_criticality = (select case when models.criticality is not null and models.criticality > t.criticality then models.criticality else t.criticality end from model_types t where t.name = models.model_type)`,
  ];
}
