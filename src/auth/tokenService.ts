import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { conflict, invalidInput, notFound, unauthorized } from '../core/errors.js';
import { parseOrThrow } from '../core/zodIssues.js';
import { assertAdmin } from '../registry/access.js';
import type { Actor } from '../registry/actor.js';
import type { RegistryStore } from '../registry/registryStore.js';
import type { Role } from '../registry/vocabulary.js';
import type { TokenRepository } from '../store/tokenRepository.js';
import { generateToken, hashToken, newTokenId, TOKEN_PREFIX, TokenInputSchema, type TokenInfo } from './tokens.js';

const CACHE_MS = 5000;

/** A member of a team as anyone signed in may see it: never the secret or its hash. */
export interface TeamMember {
  name: string;
  role: Role;
  createdAt: string;
}

/** Issues, checks and revokes bearer tokens. Only hashes are stored; a secret is shown once, when issued. */
export class TokenService {
  private readonly cache = new Map<string, { actor: Actor; until: number }>();

  constructor(
    private readonly tokens: TokenRepository,
    private readonly registry: RegistryStore,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async authenticate(header: string | undefined | null): Promise<Actor> {
    if (!header) throw unauthorized('this request needs a token: send Authorization: Bearer <token> (modelfleet prints the admin token at first start)');
    const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
    if (!match) throw unauthorized('the Authorization header must be "Bearer <token>"');
    const secret = match[1]!;
    const hash = hashToken(secret);
    const cached = this.cache.get(hash);
    if (cached && cached.until > Date.now()) return cached.actor;
    const token = secret.startsWith(TOKEN_PREFIX) || secret.length >= 16 ? await this.tokens.findByHash(hash) : null;
    if (!token) throw unauthorized('the token is unknown or revoked: ask an admin for a new one');
    const actor: Actor = { name: token.name, role: token.role, team: token.team };
    this.cache.set(hash, { actor, until: Date.now() + CACHE_MS });
    return actor;
  }

  async issue(actor: Actor, input: unknown): Promise<{ token: string; info: TokenInfo }> {
    assertAdmin(actor, 'issuing tokens');
    const spec = parseOrThrow(TokenInputSchema, input, 'token');
    if (spec.team && !(await this.registry.teams([spec.team])).length) {
      throw conflict(`team '${spec.team}' does not exist: create the team first`, [{ path: 'team', message: 'unknown team' }]);
    }
    const existing = await this.tokens.findByName(spec.name);
    if (existing) {
      // Names stay taken after revocation: they are the actors in the change history.
      throw conflict(
        existing.revokedAt
          ? `a token named '${spec.name}' was revoked at ${existing.revokedAt}; names of revoked tokens stay reserved, so the history keeps meaning one holder: pick another name`
          : `a token named '${spec.name}' already exists; pick another name, or revoke it and issue one under a new name`,
        [{ path: 'name', message: 'already taken' }],
      );
    }
    const token = generateToken();
    const info: TokenInfo = { id: newTokenId(), name: spec.name, role: spec.role, team: spec.team, createdAt: this.now().toISOString(), revokedAt: null };
    await this.tokens.insert(info, hashToken(token));
    return { token, info };
  }

  async list(actor: Actor): Promise<TokenInfo[]> {
    assertAdmin(actor, 'listing tokens');
    return this.tokens.list();
  }

  /**
   * The team's member tokens that are not revoked, by name. Any signed-in token may read them: only
   * names, roles and issue times, which the team's page shows. Throws not_found for an unknown team.
   */
  async members(team: string): Promise<TeamMember[]> {
    if (!(await this.registry.teams([team])).length) throw notFound(`team '${team}' does not exist`);
    return (await this.tokens.list())
      .filter((t) => t.role === 'member' && t.team === team && t.revokedAt === null)
      .map((t) => ({ name: t.name, role: t.role, createdAt: t.createdAt }));
  }

  async revoke(actor: Actor, name: string): Promise<void> {
    assertAdmin(actor, 'revoking tokens');
    const token = await this.tokens.findByName(name);
    if (!token) throw notFound(`token '${name}' does not exist`);
    const outcome = await this.tokens.revoke(name, this.now().toISOString());
    if (outcome === 'last_admin') throw conflict(`'${name}' is the last admin token; issue another admin token before revoking it`);
    this.cache.clear();
  }

  /**
   * Makes sure an admin can get in: `MODELFLEET_ADMIN_TOKEN` becomes the `admin` token; otherwise the
   * first start issues one, writes it to `<dataDir>/admin-token` (mode 0600) and returns it to print once.
   */
  async bootstrapAdmin(options: { envToken: string | undefined; dataDir: string }): Promise<{ token: string | null; file: string | null }> {
    if (options.envToken) {
      if (options.envToken.length < 16) throw invalidInput('MODELFLEET_ADMIN_TOKEN must be at least 16 characters');
      const hash = hashToken(options.envToken);
      const existing = await this.tokens.findByName('admin');
      if (!existing) {
        await this.tokens.insert({ id: newTokenId(), name: 'admin', role: 'admin', team: null, createdAt: this.now().toISOString(), revokedAt: null }, hash);
      } else {
        await this.tokens.replaceHash('admin', hash);
      }
      return { token: null, file: null };
    }
    if ((await this.tokens.countActiveAdmins()) > 0) return { token: null, file: null };
    const token = generateToken();
    const name = (await this.tokens.findByName('admin')) ? `admin-${Date.now()}` : 'admin';
    await this.tokens.insert({ id: newTokenId(), name, role: 'admin', team: null, createdAt: this.now().toISOString(), revokedAt: null }, hashToken(token));
    mkdirSync(options.dataDir, { recursive: true });
    const file = join(options.dataDir, 'admin-token');
    writeFileSync(file, `${token}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
    return { token, file };
  }
}
