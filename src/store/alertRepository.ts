import type { Kysely } from 'kysely';
import { AlertSchema, type Alert } from '../alerting/alert.js';
import type { AlertStore } from '../alerting/alertStore.js';
import type { Database } from './schema.js';

const CHUNK = 500;

const toAlert = (row: { doc: string }): Alert => AlertSchema.parse(JSON.parse(row.doc));

/** Alerts over Kysely: the document plus the columns lists filter on. */
export function kyselyAlertStore(db: Kysely<Database>): AlertStore {
  return {
    async open() {
      const rows = await db
        .selectFrom('alerts')
        .select('doc')
        .where((eb) => eb.or([eb('state', '=', 'firing'), eb('notified_state', 'is', null), eb('notified_state', '!=', 'resolved')]))
        .execute();
      return rows.map(toAlert);
    },
    async byFingerprints(fingerprints) {
      const out: Alert[] = [];
      for (let i = 0; i < fingerprints.length; i += CHUNK) {
        const rows = await db.selectFrom('alerts').select('doc').where('fingerprint', 'in', fingerprints.slice(i, i + CHUNK)).execute();
        out.push(...rows.map(toAlert));
      }
      return out;
    },
    async upsert(alerts) {
      if (!alerts.length) return;
      const rows = alerts
        .map((a) => ({
          fingerprint: a.fingerprint,
          model_id: a.modelId,
          kind: a.kind,
          state: a.state,
          severity: a.severity,
          starts_at: a.startsAt,
          ends_at: a.endsAt,
          updated_at: a.updatedAt,
          notified_state: a.lastNotifiedState,
          doc: JSON.stringify(a),
        }))
        .sort((a, b) => (a.fingerprint < b.fingerprint ? -1 : 1));
      await db.transaction().execute(async (trx) => {
        for (let i = 0; i < rows.length; i += CHUNK) {
          await trx
            .insertInto('alerts')
            .values(rows.slice(i, i + CHUNK))
            .onConflict((oc) =>
              oc.column('fingerprint').doUpdateSet((eb) => ({
                state: eb.ref('excluded.state'),
                severity: eb.ref('excluded.severity'),
                starts_at: eb.ref('excluded.starts_at'),
                ends_at: eb.ref('excluded.ends_at'),
                updated_at: eb.ref('excluded.updated_at'),
                notified_state: eb.ref('excluded.notified_state'),
                doc: eb.ref('excluded.doc'),
              })),
            )
            .execute();
        }
      });
    },
    async list(query) {
      let q = db.selectFrom('alerts').select('doc');
      if (query.state) q = q.where('state', '=', query.state);
      if (query.model) q = q.where('model_id', '=', query.model);
      const rows = await q.orderBy('state').orderBy('starts_at', 'desc').orderBy('fingerprint').limit(query.limit).execute();
      return rows.map(toAlert);
    },
  };
}
