import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type Migration, type SqliteDatabase } from 'kysely';
import pg from 'pg';
import { invalidInput } from '../core/errors.js';
import { registryMigration } from './migrations/001_registry.js';
import { modelsListIndexMigration } from './migrations/002_models_list_index.js';
import { modelsFilterColumnsMigration } from './migrations/003_models_filter_columns.js';
import { stabilityMigration } from './migrations/004_stability.js';
import { recordingsMigration } from './migrations/005_recordings.js';
import { launchesMigration } from './migrations/006_launches.js';
import { streamMigration } from './migrations/007_stream.js';
import type { Database } from './schema.js';

export type DialectName = 'sqlite' | 'postgres';

export interface DatabaseHandle {
  db: Kysely<Database>;
  dialect: DialectName;
  /** Where the data lives, without credentials, for logs. */
  description: string;
  close(): Promise<void>;
}

export const DEFAULT_DATABASE_URL = 'sqlite:./.modelfleet/modelfleet.db';

// PostgreSQL returns int8 (bigserial) as strings; sequence numbers fit in a double for ~2^53 changes.
pg.types.setTypeParser(20, (value: string) => Number(value));

/**
 * Opens `sqlite:PATH`, `sqlite::memory:` or `postgres://...` (an optional `?schema=NAME` keeps a
 * deployment, or a test run, in its own PostgreSQL schema) and brings its tables up to date.
 */
export async function openDatabase(url: string = DEFAULT_DATABASE_URL): Promise<DatabaseHandle> {
  let handle: DatabaseHandle;
  let migrationSchema: string | undefined;
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (!path) throw invalidInput(`--db '${url}' names no file: use sqlite:PATH or sqlite::memory:`);
    const file = path === ':memory:' ? ':memory:' : resolve(path);
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    const connection = new BetterSqlite3(file);
    connection.pragma('journal_mode = WAL');
    connection.pragma('synchronous = NORMAL');
    connection.pragma('busy_timeout = 5000');
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(connection) }) });
    handle = { db, dialect: 'sqlite', description: `sqlite:${file}`, close: () => db.destroy() };
  } else if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const parsed = new URL(url);
    const schema = parsed.searchParams.get('schema');
    parsed.searchParams.delete('schema');
    if (schema !== null && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
      throw invalidInput(`schema '${schema}' in --db is not a plain lower-case identifier`);
    }
    if (schema) {
      migrationSchema = schema;
      const bootstrap = new pg.Client({ connectionString: parsed.toString() });
      await bootstrap.connect();
      try {
        await bootstrap.query(`create schema if not exists "${schema}"`);
      } catch (error) {
        // Two processes opening a new schema at once: PostgreSQL's IF NOT EXISTS is not atomic, and the
        // loser gets a unique violation (23505) or duplicate_schema (42P06); the schema is there either way.
        const code = (error as { code?: string }).code;
        if (code !== '23505' && code !== '42P06') throw error;
      } finally {
        await bootstrap.end();
      }
    }
    const pool = new pg.Pool({
      connectionString: parsed.toString(),
      max: 10,
      ...(schema ? { options: `-c search_path="${schema}"` } : {}),
    });
    // A connection the server closes (a restart, a failover) emits 'error', from the pool when idle or
    // from its client when checked out between a transaction's statements; unheard, either crashes the
    // process. The query on it fails instead, the pool drops it, and the next query opens a new one.
    pool.on('error', () => {});
    pool.on('connect', (client) => client.on('error', () => {}));
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    const safe = new URL(parsed.toString());
    safe.password = '';
    handle = { db, dialect: 'postgres', description: `${safe.toString()}${schema ? ` (schema ${schema})` : ''}`, close: () => db.destroy() };
  } else {
    throw invalidInput(`--db '${url}' is not a database URL: use sqlite:PATH, sqlite::memory: or postgres://user@host:5432/db`);
  }
  await migrate(handle, migrationSchema);
  if (handle.dialect === 'sqlite') {
    // Lets SQLite gather the statistics it lacks, so a list filtering on two columns walks the more
    // selective index (SQLite's recommendation for long-lived connections: optimize when opening).
    await sql`pragma optimize=0x10002`.execute(handle.db);
  }
  return handle;
}

/**
 * With `?schema=`, the migrator's own tables are pinned to that schema: otherwise Kysely looks for them
 * in every schema, takes another deployment's (or a concurrent test run's) tables for ours, and fails.
 */
async function migrate(handle: DatabaseHandle, schema: string | undefined): Promise<void> {
  const migrations: Record<string, Migration> = { '001_registry': registryMigration(handle.dialect), '002_models_list_index': modelsListIndexMigration(), '003_models_filter_columns': modelsFilterColumnsMigration(), '004_stability': stabilityMigration(), '005_recordings': recordingsMigration(), '006_launches': launchesMigration(), '007_stream': streamMigration() };
  const migrator = new Migrator({ db: handle.db, provider: { getMigrations: async () => migrations }, ...(schema ? { migrationTableSchema: schema } : {}) });
  const { error } = await migrator.migrateToLatest();
  if (error) throw error;
}

/** Drops a PostgreSQL schema created for a test run. */
export async function dropPostgresSchema(url: string): Promise<void> {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema');
  if (!schema) return;
  parsed.searchParams.delete('schema');
  const client = new pg.Client({ connectionString: parsed.toString() });
  await client.connect();
  try {
    await client.query(`drop schema if exists "${schema}" cascade`);
  } finally {
    await client.end();
  }
}

/** Statements kept per SQLite connection: the registry issues a few dozen shapes; lists with rare filter mixes come and go. */
const STATEMENT_CACHE_SIZE = 200;

/**
 * Kysely's SQLite driver prepares every query anew; preparing cost more than running a primary-key
 * read (about a tenth of the server's CPU on GET /models/{id}). better-sqlite3 statements are reusable
 * once a call returns, and Kysely runs one query at a time per connection, so a small LRU is safe.
 */
function withStatementCache(connection: BetterSqlite3.Database): SqliteDatabase {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    prepare(sqlText: string) {
      let statement = cache.get(sqlText);
      if (statement) {
        cache.delete(sqlText);
      } else {
        statement = connection.prepare(sqlText);
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
      }
      cache.set(sqlText, statement);
      return statement;
    },
    close() {
      cache.clear();
      connection.close();
    },
  };
}

export { sql };
