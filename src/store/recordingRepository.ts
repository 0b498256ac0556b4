import type { Kysely } from 'kysely';
import type { RecordingInfo, RecordingStore } from '../capacity/recordingStore.js';
import type { Database } from './schema.js';

const toInfo = (row: Database['recordings']): RecordingInfo => ({
  id: row.id,
  modelType: row.model_type,
  name: row.name,
  file: row.file,
  requests: Number(row.requests),
  bytes: Number(row.bytes),
  sha256: row.sha256,
  source: row.source,
  createdBy: row.created_by,
  createdAt: row.created_at,
});

export function kyselyRecordingStore(db: Kysely<Database>): RecordingStore {
  return {
    async insert(info) {
      await db
        .insertInto('recordings')
        .values({
          id: info.id,
          model_type: info.modelType,
          name: info.name,
          file: info.file,
          requests: info.requests,
          bytes: info.bytes,
          sha256: info.sha256,
          source: info.source,
          created_by: info.createdBy,
          created_at: info.createdAt,
        })
        .execute();
    },
    async get(id) {
      const row = await db.selectFrom('recordings').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toInfo(row) : null;
    },
    async listOfType(modelType, limit) {
      const rows = await db.selectFrom('recordings').selectAll().where('model_type', '=', modelType).orderBy('created_at', 'desc').orderBy('id').limit(limit).execute();
      return rows.map(toInfo);
    },
  };
}
