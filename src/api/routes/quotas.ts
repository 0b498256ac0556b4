import { z } from 'zod';
import { TeamPoolSchema } from '../../launch/quota.js';
import type { QuotaService } from '../../launch/quotaService.js';
import { named, type ApiRoutes } from '../openapi.js';

const TeamPool = named(TeamPoolSchema, 'TeamPool');

/** Teams' virtual pools: quota, what the team's models use, what its launches reserve, what is free. */
export function registerQuotaRoutes(routes: ApiRoutes, quotas: QuotaService): void {
  routes.add(
    {
      method: 'get',
      path: '/quotas',
      summary: "Every team's virtual pool: quota, capacity units used by its live models, reserved by its running launches, and free",
      tag: 'quotas',
      responses: { 200: { description: 'one pool per team, in team name order', schema: z.object({ items: z.array(TeamPool) }) } },
    },
    async (c) => c.json({ items: await quotas.pools() }),
  );
  routes.add(
    {
      method: 'get',
      path: '/teams/{name}/quota',
      summary: "One team's virtual pool, with the models that use it",
      tag: 'quotas',
      params: z.object({ name: z.string() }),
      responses: { 200: { description: "the team's pool", schema: TeamPool } },
    },
    async (c) => c.json(await quotas.pool(c.req.param('name')!)),
  );
}
