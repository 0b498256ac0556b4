import type { Kysely } from 'kysely';

/**
 * Launches and what they drive: the launch records with every transition, the replicas an executor
 * started (so a restarted server adopts or stops them instead of leaking them), and the router's
 * per-model traffic in 10-second buckets (launch gates and demand read it).
 */
export function launchesMigration() {
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('launches')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('model_type', 'text', (c) => c.notNull())
        .addColumn('candidate', 'text', (c) => c.notNull())
        .addColumn('team', 'text', (c) => c.notNull())
        .addColumn('executor', 'text', (c) => c.notNull())
        .addColumn('phase', 'text', (c) => c.notNull())
        // 1 while the launch is not finished: the unique index below then allows one per model type.
        .addColumn('active', 'integer')
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('doc', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('launches_one_active_per_type').on('launches').columns(['model_type', 'active']).unique().execute();
      await db.schema.createIndex('launches_by_team').on('launches').columns(['team', 'created_at']).execute();
      await db.schema.createIndex('launches_by_time').on('launches').column('created_at').execute();

      await db.schema
        .createTable('launch_events')
        .addColumn('launch_id', 'text', (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('from_phase', 'text')
        .addColumn('to_phase', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('detail', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('launch_events_pk', ['launch_id', 'seq'])
        .execute();

      await db.schema
        .createTable('replicas')
        .addColumn('executor', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('model_id', 'text', (c) => c.notNull())
        .addColumn('model_type', 'text', (c) => c.notNull())
        .addColumn('endpoint', 'text')
        .addColumn('pid', 'integer')
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('doc', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('replicas_pk', ['executor', 'id'])
        .execute();
      await db.schema.createIndex('replicas_by_model').on('replicas').columns(['executor', 'model_id']).execute();

      await db.schema
        .createTable('router_traffic')
        .addColumn('model_id', 'text', (c) => c.notNull())
        .addColumn('model_type', 'text', (c) => c.notNull())
        .addColumn('bucket_start', 'bigint', (c) => c.notNull())
        .addColumn('router', 'text', (c) => c.notNull())
        .addColumn('requests', 'bigint', (c) => c.notNull())
        .addColumn('errors', 'bigint', (c) => c.notNull())
        // The bucket's latencies as an encoded HDR histogram, merged when a window spans buckets.
        .addColumn('latency', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('router_traffic_pk', ['model_id', 'bucket_start', 'router'])
        .execute();
      await db.schema.createIndex('router_traffic_by_type').on('router_traffic').columns(['model_type', 'bucket_start']).execute();
    },
  };
}
