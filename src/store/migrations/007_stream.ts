import type { Kysely } from 'kysely';

/**
 * The event stream's consumed messages: a worker records each message's stream sequence in the same
 * transaction that adds its sums, so a message delivered again (its acknowledgement was lost, or its
 * worker died after the commit) is recognised and counted once. Pruned by age, like idempotency keys.
 */
export function streamMigration() {
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('stream_messages')
        .addColumn('stream', 'text', (c) => c.notNull())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('consumed_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('stream_messages_pk', ['stream', 'seq'])
        .execute();
      await db.schema.createIndex('stream_messages_by_time').on('stream_messages').column('consumed_at').execute();
    },
  };
}
