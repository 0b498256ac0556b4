import { TRAFFIC_BUCKET_MS } from '../serving/routerTraffic.js';
import { sql, type Kysely } from 'kysely';
import { decodeHistogram, latencyHistogram } from '../capacity/histogram.js';
import type { RouterTrafficBucket, RouterTrafficStore } from '../serving/routerTraffic.js';
import type { ModelTraffic, TrafficStats } from '../serving/trafficStats.js';
import type { Database } from './schema.js';

/** Rows per INSERT: 7 parameters each stays far below SQLite's and PostgreSQL's parameter limits. */
const CHUNK = 500;
const MINUTE_MS = 60_000;

/**
 * The router's traffic rows: written by routers (`RouterTrafficStore`: each bucket's full value,
 * upserted) and read back as `TrafficStats` (a window of one model, the peak rate of a type).
 * A window holds the buckets that start within [from, to).
 */
export function kyselyRouterTrafficStore(db: Kysely<Database>): RouterTrafficStore & TrafficStats {
  return {
    async write(router: string, buckets: readonly RouterTrafficBucket[]): Promise<void> {
      for (let i = 0; i < buckets.length; i += CHUNK) {
        const values = buckets.slice(i, i + CHUNK).map((b) => ({
          model_id: b.modelId,
          model_type: b.modelType,
          bucket_start: b.bucketStart,
          router,
          requests: b.requests,
          errors: b.errors,
          latency: b.latency,
        }));
        await db
          .insertInto('router_traffic')
          .values(values)
          .onConflict((oc) =>
            oc.columns(['model_id', 'bucket_start', 'router']).doUpdateSet({
              requests: (eb) => eb.ref('excluded.requests'),
              errors: (eb) => eb.ref('excluded.errors'),
              latency: (eb) => eb.ref('excluded.latency'),
            }),
          )
          .execute();
      }
    },

    async deleteBefore(bucketStart: number): Promise<void> {
      await db.deleteFrom('router_traffic').where('bucket_start', '<', bucketStart).execute();
    },

    async window(modelId: string, fromMs: number, toMs: number): Promise<ModelTraffic> {
      const rows = await db
        .selectFrom('router_traffic')
        .select(['requests', 'errors', 'latency'])
        .where('model_id', '=', modelId)
        // Buckets that overlap the window: a launch step's bake rarely starts on a bucket boundary.
        .where('bucket_start', '>', Math.ceil(fromMs) - TRAFFIC_BUCKET_MS)
        .where('bucket_start', '<', Math.ceil(toMs))
        .execute();
      let requests = 0;
      let errors = 0;
      // Percentiles come from the merged histogram: averaging the buckets' percentiles would be wrong.
      const merged = latencyHistogram();
      for (const row of rows) {
        requests += Number(row.requests);
        errors += Number(row.errors);
        const part = decodeHistogram(row.latency);
        if (part.totalCount) merged.add(part);
      }
      const seconds = Math.max(0, toMs - fromMs) / 1000;
      const hasLatency = merged.totalCount > 0;
      return {
        modelId,
        fromMs,
        toMs,
        requests,
        errors,
        errorRate: requests ? errors / requests : 0,
        qps: seconds ? requests / seconds : 0,
        p50Ms: hasLatency ? merged.getValueAtPercentile(50) / 1000 : null,
        p99Ms: hasLatency ? merged.getValueAtPercentile(99) / 1000 : null,
      };
    },

    async peakQps(modelType: string, fromMs: number, toMs: number): Promise<number | null> {
      // Buckets start on 10-second boundaries, so integer division by a minute groups them by minute on
      // both databases; the divisor is a literal so PostgreSQL sees the same expression in SELECT and GROUP BY.
      const minute = sql<number>`bucket_start / ${sql.lit(MINUTE_MS)}`;
      const row = await db
        .selectFrom('router_traffic')
        .select([minute.as('minute'), sql<number>`sum(requests)`.as('requests')])
        .where('model_type', '=', modelType)
        // Buckets that overlap the window: a launch step's bake rarely starts on a bucket boundary.
        .where('bucket_start', '>', Math.ceil(fromMs) - TRAFFIC_BUCKET_MS)
        .where('bucket_start', '<', Math.ceil(toMs))
        .groupBy(minute)
        .orderBy('requests', 'desc')
        .limit(1)
        .executeTakeFirst();
      return row ? Number(row.requests) / 60 : null;
    },
  };
}
