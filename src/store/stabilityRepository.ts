import { sql, type Kysely, type Transaction } from 'kysely';
import { Accumulator, type AccumulatorSnapshot } from '../stability/accumulator.js';
import type { ModelEvaluation, ModelStatus } from '../stability/evaluation.js';
import { HOUR_MS } from '../stability/eventBatch.js';
import { Resolution, type BucketRow, type StabilityStore, type StatusCounts } from '../stability/stabilityStore.js';
import type { DatabaseHandle } from './database.js';
import type { Database } from './schema.js';

/** Rows per multi-row statement: 15 columns each stays under SQLite's 32766 bound parameters. */
const CHUNK = 1000;

type BucketTable = Database['stability_buckets'];

function bucketValues(row: BucketRow, resolution: Resolution): BucketTable {
  const s = row.sums;
  return {
    model_id: row.modelId,
    task: row.task,
    resolution,
    bucket_start: row.start,
    count: s.count,
    weight: s.weight[0],
    weight_c: s.weight[1],
    positives: s.positives[0],
    positives_c: s.positives[1],
    weighted_p: s.weightedP[0],
    weighted_p_c: s.weightedP[1],
    log_loss: s.weightedLogLoss[0],
    log_loss_c: s.weightedLogLoss[1],
  };
}

interface SummedRow {
  model_id: string;
  task: string;
  start: number | string;
  count: number | string;
  weight: number;
  weight_c: number;
  positives: number;
  positives_c: number;
  weighted_p: number;
  weighted_p_c: number;
  log_loss: number;
  log_loss_c: number;
}

function toBucketRow(row: SummedRow): BucketRow {
  const sums: AccumulatorSnapshot = {
    version: 1,
    count: Number(row.count),
    weight: [Number(row.weight), Number(row.weight_c)],
    positives: [Number(row.positives), Number(row.positives_c)],
    weightedP: [Number(row.weighted_p), Number(row.weighted_p_c)],
    weightedLogLoss: [Number(row.log_loss), Number(row.log_loss_c)],
  };
  return { modelId: row.model_id, task: row.task, start: Number(row.start), sums };
}

const byKey = (a: BucketRow, b: BucketRow) => (a.modelId < b.modelId ? -1 : a.modelId > b.modelId ? 1 : a.task < b.task ? -1 : a.task > b.task ? 1 : a.start - b.start);

async function upsertBuckets(trx: Transaction<Database>, rows: readonly BucketRow[], resolution: Resolution): Promise<void> {
  // One order for every writer: concurrent PostgreSQL transactions then lock rows in the same sequence and cannot deadlock.
  const sorted = [...rows].sort(byKey);
  for (let i = 0; i < sorted.length; i += CHUNK) {
    const values = sorted.slice(i, i + CHUNK).map((r) => bucketValues(r, resolution));
    await trx
      .insertInto('stability_buckets')
      .values(values)
      .onConflict((oc) =>
        oc.columns(['resolution', 'bucket_start', 'model_id', 'task']).doUpdateSet(() => {
          const plus = (column: Exclude<keyof BucketTable, 'model_id' | 'task' | 'resolution' | 'bucket_start'>) =>
            sql<number>`${sql.ref(`stability_buckets.${column}`)} + ${sql.ref(`excluded.${column}`)}`;
          // The compensation also takes the exact rounding error of adding the two sums (Knuth's TwoSum,
          // branch-free; SET expressions read the old row), as Accumulator.merge does in memory. Without
          // it every request added to a bucket loses up to half an ulp, and the same events stored
          // through different requests (or stream batches) would end a few ulps apart.
          const compensation = (column: 'weight' | 'positives' | 'weighted_p' | 'log_loss') => {
            const a = sql.ref(`stability_buckets.${column}`);
            const b = sql.ref(`excluded.${column}`);
            const s = sql`(${a} + ${b})`;
            const bb = sql`(${s} - ${a})`;
            return sql<number>`${sql.ref(`stability_buckets.${column}_c`)} + ${sql.ref(`excluded.${column}_c`)} + ((${a} - (${s} - ${bb})) + (${b} - ${bb}))`;
          };
          return {
            count: plus('count'),
            weight: plus('weight'),
            weight_c: compensation('weight'),
            positives: plus('positives'),
            positives_c: compensation('positives'),
            weighted_p: plus('weighted_p'),
            weighted_p_c: compensation('weighted_p'),
            log_loss: plus('log_loss'),
            log_loss_c: compensation('log_loss'),
          };
        }),
      )
      .execute();
  }
}

const SUM_COLUMNS = (['count', 'weight', 'weight_c', 'positives', 'positives_c', 'weighted_p', 'weighted_p_c', 'log_loss', 'log_loss_c'] as const).map((column) =>
  sql<number>`sum(${sql.ref(column)})`.as(column),
);

function countsOf(stable: unknown, unstable: unknown, insufficient: unknown): StatusCounts {
  return { stable: Number(stable ?? 0), unstable: Number(unstable ?? 0), insufficient: Number(insufficient ?? 0) };
}

/** Stability's storage over Kysely: the same SQL on SQLite and PostgreSQL. */
export function kyselyStabilityStore(handle: DatabaseHandle): StabilityStore {
  const db: Kysely<Database> = handle.db;
  return {
    async ingest(write) {
      return db.transaction().execute(async (trx) => {
        const key = write.idempotency;
        if (key) {
          // Claiming the key first makes a concurrent retry wait for this transaction, then find the key taken.
          const claimed = await trx
            .insertInto('ingest_requests')
            .values({ actor: key.actor, idempotency_key: key.key, body_hash: key.bodyHash, response: key.response, received_at: key.receivedAt })
            .onConflict((oc) => oc.columns(['actor', 'idempotency_key']).doNothing())
            .executeTakeFirst();
          if (Number(claimed.numInsertedOrUpdatedRows ?? 0n) === 0) {
            const earlier = await trx
              .selectFrom('ingest_requests')
              .select(['body_hash', 'response'])
              .where('actor', '=', key.actor)
              .where('idempotency_key', '=', key.key)
              .executeTakeFirstOrThrow();
            return earlier.body_hash === key.bodyHash ? { outcome: 'replayed' as const, response: earlier.response } : { outcome: 'key_reused' as const, bodyHash: earlier.body_hash };
          }
        }
        await upsertBuckets(trx, write.minuteBuckets, Resolution.minute);
        await upsertBuckets(trx, write.hourBuckets, Resolution.hour);
        await write.beforeCommit?.();
        return { outcome: 'written' as const };
      });
    },

    async applyStreamBatch(write) {
      // A sequence given twice (delivered twice into one batch) is one message.
      const bySeq = new Map<number, (typeof write.messages)[number]>();
      for (const message of write.messages) if (!bySeq.has(message.seq)) bySeq.set(message.seq, message);
      // Ascending, so concurrent workers claiming overlapping sequences lock them in one order.
      const seqs = [...bySeq.keys()].sort((a, b) => a - b);
      if (!seqs.length) return { newSeqs: [] };
      return db.transaction().execute(async (trx) => {
        const newSeqs: number[] = [];
        for (let i = 0; i < seqs.length; i += CHUNK) {
          // A sequence another transaction has claimed but not committed makes this one wait for it, then skip it.
          const claimed = await trx
            .insertInto('stream_messages')
            .values(seqs.slice(i, i + CHUNK).map((seq) => ({ stream: write.stream, seq, consumed_at: write.consumedAt })))
            .onConflict((oc) => oc.columns(['stream', 'seq']).doNothing())
            .returning('seq')
            .execute();
          for (const row of claimed) newSeqs.push(Number(row.seq));
        }
        newSeqs.sort((a, b) => a - b);
        const fresh = newSeqs.map((seq) => bySeq.get(seq)!);
        await upsertBuckets(trx, sumBuckets(fresh.flatMap((m) => m.minuteBuckets)), Resolution.minute);
        await upsertBuckets(trx, sumBuckets(fresh.flatMap((m) => m.hourBuckets)), Resolution.hour);
        return { newSeqs };
      });
    },

    async windowSums(from, to, modelIds) {
      if (modelIds && !modelIds.length) return [];
      // Whole hours inside the window come from the hourly rollup (written with the same requests as the
      // minutes, so they agree); only the ragged ends are read minute by minute. A six-hour window then
      // reads about a tenth of the rows.
      const firstHour = Math.ceil(from / HOUR_MS) * HOUR_MS;
      const lastHour = Math.floor(to / HOUR_MS) * HOUR_MS;
      const spans: Array<[Resolution, number, number]> =
        lastHour - firstHour >= HOUR_MS
          ? [
              [Resolution.minute, from, firstHour],
              [Resolution.hour, firstHour, lastHour],
              [Resolution.minute, lastHour, to],
            ]
          : [[Resolution.minute, from, to]];
      const merged = new Map<string, { modelId: string; task: string; acc: Accumulator }>();
      for (const [resolution, start, end] of spans) {
        if (start >= end) continue;
        let query = db
          .selectFrom('stability_buckets')
          .select(['model_id', 'task', sql<number>`min(bucket_start)`.as('start'), ...SUM_COLUMNS])
          .where('resolution', '=', resolution)
          .where('bucket_start', '>=', start)
          .where('bucket_start', '<', end);
        if (modelIds) query = query.where('model_id', 'in', [...modelIds]);
        const rows = await query.groupBy(['model_id', 'task']).execute();
        for (const row of rows as unknown as SummedRow[]) {
          const part = toBucketRow(row);
          const key = `${part.modelId}\u0000${part.task}`;
          const into = merged.get(key) ?? merged.set(key, { modelId: part.modelId, task: part.task, acc: new Accumulator() }).get(key)!;
          into.acc.merge(part.sums);
        }
      }
      return [...merged.values()].map((m) => ({ modelId: m.modelId, task: m.task, start: from, sums: m.acc.snapshot() }));
    },

    async buckets(modelId, resolution, from, to) {
      const rows = await db
        .selectFrom('stability_buckets')
        .select(['model_id', 'task', 'bucket_start as start', 'count', 'weight', 'weight_c', 'positives', 'positives_c', 'weighted_p', 'weighted_p_c', 'log_loss', 'log_loss_c'])
        .where('model_id', '=', modelId)
        .where('resolution', '=', resolution)
        .where('bucket_start', '>=', from)
        .where('bucket_start', '<', to)
        .orderBy('bucket_start')
        .orderBy('task')
        .execute();
      return rows.map((r) => toBucketRow(r as SummedRow));
    },

    async writeEvaluations(minute, evaluations) {
      const hour = minute - (minute % HOUR_MS);
      await db.transaction().execute(async (trx) => {
        // Re-evaluating a minute (after a restart, say) replaces it and takes its old verdicts out of the hour.
        const previous = await trx.selectFrom('stability_evaluations').select(['model_id', 'status']).where('minute', '=', minute).execute();
        if (previous.length) {
          await trx.deleteFrom('stability_evaluations').where('minute', '=', minute).execute();
          await addToHours(trx, hour, previous.map((p) => ({ modelId: p.model_id, status: p.status as ModelStatus })), -1);
        }
        for (let i = 0; i < evaluations.length; i += CHUNK) {
          await trx
            .insertInto('stability_evaluations')
            .values(evaluations.slice(i, i + CHUNK).map((e) => ({ model_id: e.modelId, minute, status: e.status, doc: JSON.stringify(e) })))
            .execute();
        }
        await addToHours(trx, hour, evaluations, 1);
      });
    },

    async evaluations(modelId, from, to) {
      const rows = await db
        .selectFrom('stability_evaluations')
        .selectAll()
        .where('model_id', '=', modelId)
        .where('minute', '>=', from)
        .where('minute', '<', to)
        .orderBy('minute')
        .execute();
      return rows.map((r) => ({ modelId: r.model_id, minute: Number(r.minute), status: r.status as ModelStatus, evaluation: JSON.parse(r.doc) as ModelEvaluation }));
    },

    async latestEvaluations(at) {
      const rows = await db
        .selectFrom('stability_evaluations as e')
        .selectAll('e')
        .where('e.minute', '=', (eb) => eb.selectFrom('stability_evaluations').select((x) => x.fn.max('minute').as('m')).where('minute', '<=', at))
        .execute();
      return rows.map((r) => ({ modelId: r.model_id, minute: Number(r.minute), status: r.status as ModelStatus, evaluation: JSON.parse(r.doc) as ModelEvaluation }));
    },

    async latestEvaluatedMinute(at) {
      const row = await db.selectFrom('stability_evaluations').select((x) => x.fn.max('minute').as('m')).where('minute', '<=', at).executeTakeFirst();
      return row?.m === null || row?.m === undefined ? null : Number(row.m);
    },

    async minuteCounts(from, to) {
      const rows = await db
        .selectFrom('stability_evaluations')
        .select([
          'model_id',
          sql<number>`sum(case when status = 'stable' then 1 else 0 end)`.as('stable'),
          sql<number>`sum(case when status = 'unstable' then 1 else 0 end)`.as('unstable'),
          sql<number>`sum(case when status = 'insufficient_data' then 1 else 0 end)`.as('insufficient'),
        ])
        .where('minute', '>=', from)
        .where('minute', '<', to)
        .groupBy('model_id')
        .execute();
      return new Map(rows.map((r) => [r.model_id, countsOf(r.stable, r.unstable, r.insufficient)]));
    },

    async hourCounts(from, to) {
      const rows = await db
        .selectFrom('stability_hours')
        .select(['model_id', (eb) => eb.fn.sum<number>('stable').as('stable'), (eb) => eb.fn.sum<number>('unstable').as('unstable'), (eb) => eb.fn.sum<number>('insufficient').as('insufficient')])
        .where('hour', '>=', from)
        .where('hour', '<', to)
        .groupBy('model_id')
        .execute();
      return new Map(rows.map((r) => [r.model_id, countsOf(r.stable, r.unstable, r.insufficient)]));
    },

    async hourlyCountsOf(modelId, from, to) {
      const rows = await db.selectFrom('stability_hours').selectAll().where('model_id', '=', modelId).where('hour', '>=', from).where('hour', '<', to).execute();
      return new Map(rows.map((r) => [Number(r.hour), countsOf(r.stable, r.unstable, r.insufficient)]));
    },

    async acquireLease(name, holder, now, ttlMs) {
      // One statement, so two servers racing for a free or expired lease cannot both win.
      const result = await db
        .insertInto('leases')
        .values({ name, holder, expires_at: now + ttlMs })
        .onConflict((oc) =>
          oc
            .column('name')
            .doUpdateSet({ holder, expires_at: now + ttlMs })
            .where((eb) => eb.or([eb('leases.holder', '=', holder), eb('leases.expires_at', '<', now)])),
        )
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
    },

    async releaseLease(name, holder) {
      await db.deleteFrom('leases').where('name', '=', name).where('holder', '=', holder).execute();
    },

    async jobState(name) {
      const row = await db.selectFrom('job_state').select('value').where('name', '=', name).executeTakeFirst();
      return row?.value ?? null;
    },

    async setJobState(name, value) {
      await db.insertInto('job_state').values({ name, value }).onConflict((oc) => oc.column('name').doUpdateSet({ value })).execute();
    },

    async purge(now, policy) {
      const removed: Record<string, number> = {};
      const count = (r: { numDeletedRows: bigint }) => Number(r.numDeletedRows);
      removed['minuteBuckets'] = count(await db.deleteFrom('stability_buckets').where('resolution', '=', Resolution.minute).where('bucket_start', '<', now - policy.minuteBucketsMs).executeTakeFirst());
      removed['hourBuckets'] = count(await db.deleteFrom('stability_buckets').where('resolution', '=', Resolution.hour).where('bucket_start', '<', now - policy.hourBucketsMs).executeTakeFirst());
      removed['minuteEvaluations'] = count(await db.deleteFrom('stability_evaluations').where('minute', '<', now - policy.minuteEvaluationsMs).executeTakeFirst());
      removed['hourEvaluations'] = count(await db.deleteFrom('stability_hours').where('hour', '<', now - policy.hourEvaluationsMs).executeTakeFirst());
      removed['idempotencyKeys'] = count(await db.deleteFrom('ingest_requests').where('received_at', '<', now - policy.idempotencyKeysMs).executeTakeFirst());
      // A consumed-message record is a duplicate check like an idempotency key, kept as long.
      removed['streamMessages'] = count(await db.deleteFrom('stream_messages').where('consumed_at', '<', now - policy.idempotencyKeysMs).executeTakeFirst());
      removed['resolvedAlerts'] = count(
        await db.deleteFrom('alerts').where('state', '=', 'resolved').where('updated_at', '<', new Date(now - policy.resolvedAlertsMs).toISOString()).executeTakeFirst(),
      );
      return removed;
    },
  };
}

/**
 * Rows of the same (model, task, start) merged into one: a multi-row upsert may touch a row only once.
 * Merged with the compensated sums, in the order given.
 */
function sumBuckets(rows: readonly BucketRow[]): BucketRow[] {
  const merged = new Map<string, { modelId: string; task: string; start: number; acc: Accumulator }>();
  for (const row of rows) {
    const key = `${row.modelId}\u0000${row.task}\u0000${row.start}`;
    let into = merged.get(key);
    if (!into) merged.set(key, (into = { modelId: row.modelId, task: row.task, start: row.start, acc: new Accumulator() }));
    into.acc.merge(row.sums);
  }
  return [...merged.values()].map((m) => ({ modelId: m.modelId, task: m.task, start: m.start, sums: m.acc.snapshot() }));
}

async function addToHours(trx: Transaction<Database>, hour: number, verdicts: ReadonlyArray<{ modelId: string; status: ModelStatus }>, sign: 1 | -1): Promise<void> {
  const rows = verdicts.map((v) => ({
    model_id: v.modelId,
    hour,
    stable: v.status === 'stable' ? sign : 0,
    unstable: v.status === 'unstable' ? sign : 0,
    insufficient: v.status === 'insufficient_data' ? sign : 0,
  }));
  rows.sort((a, b) => (a.model_id < b.model_id ? -1 : a.model_id > b.model_id ? 1 : 0));
  for (let i = 0; i < rows.length; i += CHUNK) {
    await trx
      .insertInto('stability_hours')
      .values(rows.slice(i, i + CHUNK))
      .onConflict((oc) =>
        oc.columns(['model_id', 'hour']).doUpdateSet({
          stable: sql<number>`stability_hours.stable + excluded.stable`,
          unstable: sql<number>`stability_hours.unstable + excluded.unstable`,
          insufficient: sql<number>`stability_hours.insufficient + excluded.insufficient`,
        }),
      )
      .execute();
  }
}
