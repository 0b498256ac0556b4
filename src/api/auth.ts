import type { Context, MiddlewareHandler } from 'hono';
import type { TokenService } from '../auth/tokenService.js';
import type { Actor } from '../registry/actor.js';

export type AppEnv = { Variables: { actor: Actor } };

/** Every /api/v1 request carries a bearer token; the resolved actor rides on the context. */
export function requireActor(tokens: TokenService): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.set('actor', await tokens.authenticate(c.req.header('authorization')));
    await next();
  };
}

export const actorOf = (c: Context<AppEnv>): Actor => c.get('actor');
