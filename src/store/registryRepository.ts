import type { RegistryStore } from '../registry/registryStore.js';
import type { DatabaseHandle } from './database.js';
import { registryLists } from './registryLists.js';
import { registryReads } from './registryReads.js';
import { registryTx } from './registryWrites.js';

/** The registry store over Kysely: the same code for SQLite and PostgreSQL. */
export function kyselyRegistryStore(handle: DatabaseHandle): RegistryStore {
  const { db, dialect } = handle;
  return {
    ...registryReads(db),
    ...registryLists(db, dialect),
    transaction: (fn) => db.transaction().execute((trx) => fn(registryTx(trx, dialect))),
  };
}
