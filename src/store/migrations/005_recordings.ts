import type { Kysely } from 'kysely';

/** Recorded traffic (the metadata here, the requests in files under the data directory) and capacity estimate runs. */
export function recordingsMigration() {
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('recordings')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('model_type', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('file', 'text', (c) => c.notNull())
        .addColumn('requests', 'integer', (c) => c.notNull())
        .addColumn('bytes', 'bigint', (c) => c.notNull())
        .addColumn('sha256', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('recordings_by_type').on('recordings').columns(['model_type', 'created_at']).execute();

      await db.schema
        .createTable('capacity_estimates')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('model_id', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('requested_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('finished_at', 'text')
        .addColumn('doc', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('capacity_estimates_by_model').on('capacity_estimates').columns(['model_id', 'created_at']).execute();
    },
  };
}
