import { z } from 'zod';
import type { TokenService } from '../../auth/tokenService.js';
import { TokenInputSchema } from '../../auth/tokens.js';
import { actorOf } from '../auth.js';
import { readJson } from '../http.js';
import type { ApiRoutes } from '../openapi.js';

const TokenInfoSchema = z.object({ id: z.string(), name: z.string(), role: z.string(), team: z.string().nullable(), createdAt: z.string(), revokedAt: z.string().nullable() });
const TeamMemberSchema = z.object({ name: z.string(), role: z.string(), createdAt: z.string() });

/** Tokens are issued and revoked by admins; the secret is returned once, at issue. Anyone may see a team's member names. */
export function registerTokenRoutes(routes: ApiRoutes, tokens: TokenService): void {
  routes.add(
    { method: 'get', path: '/tokens', summary: 'List tokens (admins); secrets are never shown', tag: 'auth', responses: { 200: { description: 'tokens', schema: z.object({ items: z.array(TokenInfoSchema) }) } } },
    async (c) => c.json({ items: await tokens.list(actorOf(c)) }),
  );
  routes.add(
    {
      method: 'post',
      path: '/tokens',
      summary: 'Issue a token (admins); a member token makes its holder a member of the team',
      tag: 'auth',
      body: TokenInputSchema,
      responses: { 201: { description: 'the token; its secret is shown only now', schema: z.object({ token: z.string(), info: TokenInfoSchema }) } },
    },
    async (c) => c.json(await tokens.issue(actorOf(c), await readJson(c)), 201),
  );
  routes.add(
    {
      method: 'get',
      path: '/teams/{name}/members',
      summary: "A team's members: its member tokens that are not revoked, by name (any token may read them; never secrets)",
      tag: 'teams',
      params: z.object({ name: z.string() }),
      responses: { 200: { description: 'the members, in name order', schema: z.object({ items: z.array(TeamMemberSchema) }) } },
    },
    async (c) => c.json({ items: await tokens.members(c.req.param('name')!) }),
  );
  routes.add(
    { method: 'delete', path: '/tokens/{name}', summary: 'Revoke a token (admins)', tag: 'auth', params: z.object({ name: z.string() }), responses: { 204: { description: 'revoked' } } },
    async (c) => {
      await tokens.revoke(actorOf(c), c.req.param('name')!);
      return c.body(null, 204);
    },
  );
}
