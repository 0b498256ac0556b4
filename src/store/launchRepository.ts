import type { Kysely } from 'kysely';
import { conflict } from '../core/errors.js';
import type { Launch, LaunchEvent } from '../launch/launch.js';
import { isTerminal, type LaunchPhase } from '../launch/launchPhase.js';
import type { LaunchEventInput, LaunchStore } from '../launch/launchStore.js';
import { isUniqueViolation } from './registryWrites.js';
import type { Database } from './schema.js';

const toLaunch = (row: { doc: string }): Launch => JSON.parse(row.doc) as Launch;

/** Launches over Kysely: the launch as a document, its transitions as rows, version-checked writes. */
export function kyselyLaunchStore(db: Kysely<Database>): LaunchStore {
  const eventRow = (launch: Launch, seq: number, event: LaunchEventInput) => ({
    launch_id: launch.id,
    seq,
    at: launch.updatedAt,
    actor: event.actor,
    from_phase: event.from,
    to_phase: event.to,
    reason: event.reason,
    detail: JSON.stringify(event.detail ?? {}),
  });
  const columns = (launch: Launch) => ({
    phase: launch.phase,
    active: isTerminal(launch.phase) ? null : 1,
    version: launch.version,
    doc: JSON.stringify(launch),
    updated_at: launch.updatedAt,
  });
  return {
    async create(launch, event) {
      try {
        await db.transaction().execute(async (tx) => {
          await tx
            .insertInto('launches')
            .values({ id: launch.id, model_type: launch.modelType, candidate: launch.candidate, team: launch.team, executor: launch.executor, created_by: launch.createdBy, created_at: launch.createdAt, ...columns(launch) })
            .execute();
          await tx.insertInto('launch_events').values(eventRow(launch, 1, event)).execute();
        });
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        const running = await db.selectFrom('launches').select(['id', 'phase', 'candidate']).where('model_type', '=', launch.modelType).where('active', '=', 1).executeTakeFirst();
        throw conflict(
          running
            ? `model type ${launch.modelType} already has a launch in progress: ${running.id} (${running.candidate}, ${running.phase}); wait for it to finish or abort it with 'modelfleet launch abort ${running.id}'`
            : `launch ${launch.id} already exists`,
        );
      }
    },
    async get(id) {
      const row = await db.selectFrom('launches').select('doc').where('id', '=', id).executeTakeFirst();
      return row ? toLaunch(row) : null;
    },
    async list(filter) {
      let query = db.selectFrom('launches').select('doc');
      if (filter.team) query = query.where('team', '=', filter.team);
      if (filter.modelType) query = query.where('model_type', '=', filter.modelType);
      if (filter.active === true) query = query.where('active', '=', 1);
      if (filter.active === false) query = query.where('active', 'is', null);
      const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(filter.limit ?? 100).execute();
      return rows.map(toLaunch);
    },
    async update(next, event) {
      return db.transaction().execute(async (tx) => {
        const result = await tx.updateTable('launches').set(columns(next)).where('id', '=', next.id).where('version', '=', next.version - 1).executeTakeFirst();
        if (Number(result.numUpdatedRows) !== 1) return false;
        if (event) {
          const last = await tx.selectFrom('launch_events').select(({ fn }) => fn.max('seq').as('seq')).where('launch_id', '=', next.id).executeTakeFirst();
          await tx.insertInto('launch_events').values(eventRow(next, Number(last?.seq ?? 0) + 1, event)).execute();
        }
        return true;
      });
    },
    async events(id) {
      const rows = await db.selectFrom('launch_events').selectAll().where('launch_id', '=', id).orderBy('seq').execute();
      return rows.map(
        (r): LaunchEvent => ({ seq: Number(r.seq), at: r.at, actor: r.actor, from: r.from_phase as LaunchPhase | null, to: r.to_phase as LaunchPhase, reason: r.reason, detail: JSON.parse(r.detail) as Record<string, unknown> }),
      );
    },
  };
}
