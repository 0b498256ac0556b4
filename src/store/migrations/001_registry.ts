import { type Kysely, sql } from 'kysely';
import type { DialectName } from '../database.js';

/** The registry's tables. Invariants live in `registry/`; the database adds unique keys as a backstop. */
export function registryMigration(dialect: DialectName) {
  const serial = dialect === 'postgres' ? 'bigserial' : 'integer';
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema.createTable('settings').addColumn('key', 'text', (c) => c.primaryKey()).addColumn('value', 'text', (c) => c.notNull()).execute();
      await db.schema
        .createTable('teams')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('doc', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('model_types')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('app', 'text', (c) => c.notNull())
        .addColumn('surface', 'text', (c) => c.notNull())
        .addColumn('architecture', 'text', (c) => c.notNull())
        .addColumn('funnel_stage', 'text', (c) => c.notNull())
        .addColumn('owner_team', 'text', (c) => c.notNull())
        .addColumn('criticality', 'text', (c) => c.notNull())
        .addColumn('baseline_model_id', 'text')
        .addColumn('holdout_model_id', 'text')
        .addColumn('search', 'text', (c) => c.notNull())
        .addColumn('doc', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      for (const column of ['app', 'surface', 'architecture', 'funnel_stage', 'owner_team', 'criticality']) {
        await db.schema.createIndex(`model_types_${column}`).on('model_types').columns([column, 'name']).execute();
      }
      await db.schema
        .createTable('models')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('model_type', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('criticality', 'text')
        .addColumn('search', 'text', (c) => c.notNull())
        .addColumn('doc', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('models_model_type').on('models').columns(['model_type', 'id']).execute();
      await db.schema.createIndex('models_role').on('models').columns(['role', 'id']).execute();
      // Backstop for "at most one baseline and one holdout per type" under concurrent writers.
      await db.schema.createIndex('models_one_baseline').on('models').column('model_type').unique().where(sql.ref('role'), '=', 'baseline').execute();
      await db.schema.createIndex('models_one_holdout').on('models').column('model_type').unique().where(sql.ref('role'), '=', 'holdout').execute();
      await db.schema
        .createTable('entity_tags')
        .addColumn('entity', 'text', (c) => c.notNull())
        .addColumn('entity_id', 'text', (c) => c.notNull())
        .addColumn('tag', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('entity_tags_pk', ['entity', 'entity_id', 'tag'])
        .execute();
      await db.schema.createIndex('entity_tags_by_tag').on('entity_tags').columns(['entity', 'tag', 'entity_id']).execute();
      await db.schema
        .createTable('assets')
        .addColumn('model_id', 'text', (c) => c.notNull())
        .addColumn('model_type', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('uri', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('assets_pk', ['model_id', 'name'])
        .execute();
      await db.schema.createIndex('assets_by_type').on('assets').columns(['model_type', 'kind']).execute();
      await db.schema.createIndex('assets_by_uri').on('assets').column('uri').execute();
      await db.schema
        .createTable('changes')
        .addColumn('seq', serial as 'integer', (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('entity', 'text', (c) => c.notNull())
        .addColumn('entity_id', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('before', 'text')
        .addColumn('after', 'text')
        .addColumn('patch', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('changes_by_entity').on('changes').columns(['entity', 'entity_id', 'seq']).execute();
      await db.schema
        .createTable('approvals')
        .addColumn('id', serial as 'integer', (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('model_type', 'text', (c) => c.notNull())
        .addColumn('from_criticality', 'text', (c) => c.notNull())
        .addColumn('requested_criticality', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('requested_by', 'text', (c) => c.notNull())
        .addColumn('requested_at', 'text', (c) => c.notNull())
        .addColumn('request_reason', 'text')
        .addColumn('decided_by', 'text')
        .addColumn('decided_at', 'text')
        .addColumn('decision_reason', 'text')
        .execute();
      await db.schema.createIndex('approvals_by_status').on('approvals').columns(['status', 'id']).execute();
      await db.schema.createIndex('approvals_by_type').on('approvals').columns(['model_type', 'status']).execute();
      await db.schema
        .createTable('extension_schemas')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('applies_to', 'text', (c) => c.notNull())
        .addColumn('team', 'text')
        .addColumn('doc', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('hash', 'text', (c) => c.notNull().unique())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('team', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('revoked_at', 'text')
        .execute();
    },
  };
}
