import type { Kysely } from 'kysely';
import type { TokenInfo } from '../auth/tokens.js';
import type { Role } from '../registry/vocabulary.js';
import type { Database } from './schema.js';

export interface TokenRepository {
  findByHash(hash: string): Promise<TokenInfo | null>;
  findByName(name: string): Promise<TokenInfo | null>;
  insert(token: TokenInfo, hash: string): Promise<void>;
  replaceHash(name: string, hash: string): Promise<void>;
  list(): Promise<TokenInfo[]>;
  revoke(name: string, at: string): Promise<boolean>;
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

export function kyselyTokenRepository(db: Kysely<Database>): TokenRepository {
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
      const result = await db.updateTable('tokens').set({ revoked_at: at }).where('name', '=', name).where('revoked_at', 'is', null).executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async countActiveAdmins() {
      const row = await db.selectFrom('tokens').select((eb) => eb.fn.countAll().as('n')).where('role', '=', 'admin').where('revoked_at', 'is', null).executeTakeFirst();
      return Number(row?.n ?? 0);
    },
  };
}
