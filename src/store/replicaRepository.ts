import type { Kysely } from 'kysely';
import type { Clock } from '../registry/registryService.js';
import { ReplicaState, type ReplicaRecord, type ReplicaStore } from '../serving/replicaStore.js';
import type { Database } from './schema.js';

const STATES: ReadonlySet<string> = new Set(ReplicaState);

function toRecord(row: Database['replicas']): ReplicaRecord {
  // A state this version does not know (written by a newer one) reads as dead: the slot is restarted, never trusted.
  const state = STATES.has(row.state) ? (row.state as ReplicaState) : 'dead';
  return {
    executor: row.executor,
    id: row.id,
    modelId: row.model_id,
    modelType: row.model_type,
    endpoint: row.endpoint,
    pid: row.pid === null ? null : Number(row.pid),
    state,
    doc: JSON.parse(row.doc) as Record<string, unknown>,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** The `replicas` table as a ReplicaStore, on SQLite or PostgreSQL. */
export function kyselyReplicaStore(db: Kysely<Database>, clock: Clock = { now: () => new Date() }): ReplicaStore {
  return {
    async list(executor) {
      const rows = await db.selectFrom('replicas').selectAll().where('executor', '=', executor).orderBy('created_at').orderBy('id').execute();
      return rows.map(toRecord);
    },
    async insert(record) {
      const now = clock.now().toISOString();
      await db
        .insertInto('replicas')
        .values({
          executor: record.executor,
          id: record.id,
          model_id: record.modelId,
          model_type: record.modelType,
          endpoint: record.endpoint,
          pid: record.pid,
          state: record.state,
          doc: JSON.stringify(record.doc),
          created_at: now,
          updated_at: now,
        })
        .execute();
      return { ...record, createdAt: now, updatedAt: now };
    },
    async update(executor, id, change) {
      const set: Partial<Database['replicas']> = { updated_at: clock.now().toISOString() };
      if (change.endpoint !== undefined) set.endpoint = change.endpoint;
      if (change.pid !== undefined) set.pid = change.pid;
      if (change.state !== undefined) set.state = change.state;
      if (change.doc !== undefined) set.doc = JSON.stringify(change.doc);
      await db.updateTable('replicas').set(set).where('executor', '=', executor).where('id', '=', id).execute();
    },
    async delete(executor, id) {
      await db.deleteFrom('replicas').where('executor', '=', executor).where('id', '=', id).execute();
    },
  };
}

/** A ready replica as a router in another process finds it. */
export interface ReadyEndpoint {
  modelId: string;
  modelType: string;
  endpoint: string;
}

/**
 * Every ready replica with an endpoint, whatever executor runs it, ordered by model: what a router
 * that does not share the executor's process reads to know where to send each model's traffic.
 */
export async function readyEndpoints(db: Kysely<Database>): Promise<ReadyEndpoint[]> {
  const rows = await db
    .selectFrom('replicas')
    .select(['model_id', 'model_type', 'endpoint'])
    .where('state', '=', 'ready')
    .where('endpoint', 'is not', null)
    .orderBy('model_id')
    .orderBy('id')
    .orderBy('executor')
    .execute();
  return rows.map((row) => ({ modelId: row.model_id, modelType: row.model_type, endpoint: row.endpoint! }));
}
