import type { Kysely } from 'kysely';
import type { EstimateJob, EstimateJobStore } from '../capacity/estimateJobs.js';
import type { Database } from './schema.js';

const toJob = (row: { doc: string }): EstimateJob => JSON.parse(row.doc) as EstimateJob;

/** Capacity estimate runs over Kysely: the run as a document, with the columns lists filter on. */
export function kyselyEstimateJobStore(db: Kysely<Database>): EstimateJobStore {
  return {
    async put(job) {
      const row = { id: job.id, model_id: job.model, status: job.status, requested_by: job.requestedBy, created_at: job.createdAt, finished_at: job.finishedAt, doc: JSON.stringify(job) };
      await db
        .insertInto('capacity_estimates')
        .values(row)
        .onConflict((oc) => oc.column('id').doUpdateSet({ status: row.status, finished_at: row.finished_at, doc: row.doc }))
        .execute();
    },
    async get(id) {
      const row = await db.selectFrom('capacity_estimates').select('doc').where('id', '=', id).executeTakeFirst();
      return row ? toJob(row) : null;
    },
    async listOfModel(model, limit) {
      const rows = await db.selectFrom('capacity_estimates').select('doc').where('model_id', '=', model).orderBy('created_at', 'desc').orderBy('id').limit(limit).execute();
      return rows.map(toJob);
    },
    async failRunning(reason, at) {
      const rows = await db.selectFrom('capacity_estimates').select('doc').where('status', '=', 'running').execute();
      for (const row of rows) {
        const job = toJob(row);
        await this.put({ ...job, status: 'failed', error: reason, finishedAt: at });
      }
      return rows.length;
    },
  };
}
