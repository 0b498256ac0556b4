import type { Kysely } from 'kysely';

const SUMS = ['weight', 'positives', 'weighted_p', 'log_loss'] as const;

/**
 * Stability's tables. Buckets hold mergeable sums (each with its compensation term, so sums of many
 * buckets keep full precision) at two resolutions; evaluations are the per-minute verdicts, with an
 * hourly rollup that outlives them for 28-day SLOs; alerts keep their state across restarts.
 */
export function stabilityMigration() {
  return {
    async up(db: Kysely<any>): Promise<void> {
      let buckets = db.schema
        .createTable('stability_buckets')
        .addColumn('model_id', 'text', (c) => c.notNull())
        .addColumn('task', 'text', (c) => c.notNull())
        .addColumn('resolution', 'integer', (c) => c.notNull())
        .addColumn('bucket_start', 'bigint', (c) => c.notNull())
        .addColumn('count', 'bigint', (c) => c.notNull());
      for (const sum of SUMS) {
        buckets = buckets.addColumn(sum, 'double precision', (c) => c.notNull()).addColumn(`${sum}_c`, 'double precision', (c) => c.notNull());
      }
      await buckets.addPrimaryKeyConstraint('stability_buckets_pk', ['resolution', 'bucket_start', 'model_id', 'task']).execute();
      await db.schema.createIndex('stability_buckets_by_model').on('stability_buckets').columns(['model_id', 'resolution', 'bucket_start']).execute();

      await db.schema
        .createTable('ingest_requests')
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('idempotency_key', 'text', (c) => c.notNull())
        .addColumn('body_hash', 'text', (c) => c.notNull())
        .addColumn('response', 'text', (c) => c.notNull())
        .addColumn('received_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('ingest_requests_pk', ['actor', 'idempotency_key'])
        .execute();
      await db.schema.createIndex('ingest_requests_by_time').on('ingest_requests').column('received_at').execute();

      await db.schema
        .createTable('stability_evaluations')
        .addColumn('model_id', 'text', (c) => c.notNull())
        .addColumn('minute', 'bigint', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('doc', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('stability_evaluations_pk', ['model_id', 'minute'])
        .execute();
      await db.schema.createIndex('stability_evaluations_by_minute').on('stability_evaluations').columns(['minute', 'status']).execute();

      await db.schema
        .createTable('stability_hours')
        .addColumn('model_id', 'text', (c) => c.notNull())
        .addColumn('hour', 'bigint', (c) => c.notNull())
        .addColumn('stable', 'integer', (c) => c.notNull())
        .addColumn('unstable', 'integer', (c) => c.notNull())
        .addColumn('insufficient', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('stability_hours_pk', ['model_id', 'hour'])
        .execute();
      await db.schema.createIndex('stability_hours_by_hour').on('stability_hours').column('hour').execute();

      await db.schema
        .createTable('alerts')
        .addColumn('fingerprint', 'text', (c) => c.primaryKey())
        .addColumn('model_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('starts_at', 'text', (c) => c.notNull())
        .addColumn('ends_at', 'text')
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('notified_state', 'text')
        .addColumn('doc', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('alerts_by_state').on('alerts').columns(['state', 'updated_at']).execute();
      await db.schema.createIndex('alerts_by_model').on('alerts').columns(['model_id', 'starts_at']).execute();

      await db.schema
        .createTable('leases')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('holder', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('job_state')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .execute();
    },
  };
}
