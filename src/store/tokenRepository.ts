import { sql, type Kysely } from 'kysely';
import type { DialectName } from './database.js';
import type { TokenInfo } from '../auth/tokens.js';
import type { Role } from '../registry/vocabulary.js';
import type { Database } from './schema.js';

export interface TokenRepository {
  findByHash(hash: string): Promise<TokenInfo | null>;
  findByName(name: string): Promise<TokenInfo | null>;
  insert(token: TokenInfo, hash: string): Promise<void>;
  replaceHash(name: string, hash: string): Promise<void>;
  list(): Promise<TokenInfo[]>;
  /**
   * Revokes a token unless it is the last active admin token, atomically: two admins revoking the last
   * two admin tokens at once cannot both succeed. Returns what happened.
   */
  revoke(name: string, at: string): Promise<'revoked' | 'last_admin' | 'already_revoked'>;
  countActiveAdmins(): Promise<number>;
}

const toInfo = (row: Database['tokens']): TokenInfo => ({
  id: row.id,
  name: row.name,
  role: row.role as Role,
  team: row.team,
  createdAt: row.created_at,
  revokedAt: row.revoked_at,
});

export function kyselyTokenRepository(db: Kysely<Database>, dialect: DialectName): TokenRepository {
  return {
    async findByHash(hash) {
      const row = await db.selectFrom('tokens').selectAll().where('hash', '=', hash).where('revoked_at', 'is', null).executeTakeFirst();
      return row ? toInfo(row) : null;
    },
    async findByName(name) {
      const row = await db.selectFrom('tokens').selectAll().where('name', '=', name).executeTakeFirst();
      return row ? toInfo(row) : null;
    },
    async insert(token, hash) {
      await db
        .insertInto('tokens')
        .values({ id: token.id, name: token.name, hash, role: token.role, team: token.team, created_at: token.createdAt, revoked_at: token.revokedAt })
        .execute();
    },
    async replaceHash(name, hash) {
      await db.updateTable('tokens').set({ hash, revoked_at: null }).where('name', '=', name).execute();
    },
    async list() {
      return (await db.selectFrom('tokens').selectAll().orderBy('name').execute()).map(toInfo);
    },
    async revoke(name, at) {
      return db.transaction().execute(async (trx) => {
        // PostgreSQL: one revoker at a time, so the count below cannot go stale; SQLite has one writer.
        if (dialect === 'postgres') await sql`select pg_advisory_xact_lock(hashtext('modelfleet:tokens'), hashtext(current_schema()))`.execute(trx);
        const result = await trx
          .updateTable('tokens')
          .set({ revoked_at: at })
          .where('name', '=', name)
          .where('revoked_at', 'is', null)
          .where((eb) =>
            eb.or([
              eb('role', '<>', 'admin'),
              eb(
                eb.selectFrom('tokens as a').select((a) => a.fn.countAll().as('n')).where('a.role', '=', 'admin').where('a.revoked_at', 'is', null),
                '>',
                1,
              ),
            ]),
          )
          .executeTakeFirst();
        if (Number(result.numUpdatedRows) === 1) return 'revoked';
        const row = await trx.selectFrom('tokens').select('revoked_at').where('name', '=', name).executeTakeFirst();
        return row?.revoked_at ? 'already_revoked' : 'last_admin';
      });
    },
    async countActiveAdmins() {
      const row = await db.selectFrom('tokens').select((eb) => eb.fn.countAll().as('n')).where('role', '=', 'admin').where('revoked_at', 'is', null).executeTakeFirst();
      return Number(row?.n ?? 0);
    },
  };
}
