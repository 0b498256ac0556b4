import { z } from 'zod';
import { LaunchEventSchema, LaunchRequestSchema, LaunchSchema } from '../../launch/launch.js';
import { LaunchAction } from '../../launch/launchPhase.js';
import type { LaunchService } from '../../launch/launchService.js';
import { actorOf } from '../auth.js';
import { changeReason, parseQuery, readJson } from '../http.js';
import { named, type ApiRoutes } from '../openapi.js';
import { parseOrThrow } from '../../core/zodIssues.js';

const LaunchDocSchema = named(LaunchSchema, 'Launch');
const LaunchListQuerySchema = z
  .object({
    team: z.string().optional(),
    modelType: z.string().optional(),
    active: z.enum(['true', 'false']).optional().describe('true: unfinished launches only; false: finished ones only'),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict();
const ActionBodySchema = z.object({ reason: z.string().max(2000).optional() }).strict();

/** Launches: start one, follow it, act on it. */
export function registerLaunchRoutes(routes: ApiRoutes, launches: LaunchService): void {
  routes.add(
    {
      method: 'post',
      path: '/launches',
      summary:
        "Start a launch: estimate the candidate's replicas and cost, decide approval by the team's policy and quota, then shift traffic in steps behind health gates and finalize the registry. A refused launch is recorded as failed with the reason and the numbers",
      tag: 'launches',
      body: LaunchRequestSchema,
      responses: { 201: { description: 'the launch as it stands after estimation (or while it estimates)', schema: LaunchDocSchema } },
    },
    async (c) => {
      const launch = await launches.start(actorOf(c), await readJson(c));
      c.header('Location', `/api/v1/launches/${launch.id}`);
      return c.json(launch, 201);
    },
  );
  routes.add(
    { method: 'get', path: '/launches', summary: 'Launches, newest first', tag: 'launches', query: LaunchListQuerySchema, responses: { 200: { description: 'launches', schema: z.object({ items: z.array(LaunchDocSchema) }) } } },
    async (c) => {
      const q = parseQuery(c, LaunchListQuerySchema);
      return c.json({ items: await launches.list({ team: q.team, modelType: q.modelType, active: q.active === undefined ? undefined : q.active === 'true', limit: q.limit }) });
    },
  );
  routes.add(
    { method: 'get', path: '/launches/{id}', summary: 'A launch: phase, step, traffic shares, replicas, gates, estimate and approval', tag: 'launches', params: z.object({ id: z.string() }), responses: { 200: { description: 'the launch', schema: LaunchDocSchema } } },
    async (c) => c.json(await launches.get(c.req.param('id')!)),
  );
  routes.add(
    {
      method: 'get',
      path: '/launches/{id}/events',
      summary: "A launch's transitions and steps, in order, each with its actor and reason",
      tag: 'launches',
      params: z.object({ id: z.string() }),
      responses: { 200: { description: 'events', schema: z.object({ items: z.array(LaunchEventSchema) }) } },
    },
    async (c) => c.json({ items: await launches.events(c.req.param('id')!) }),
  );
  routes.add(
    {
      method: 'post',
      path: '/launches/{id}/{action}',
      summary: `Act on a launch: ${LaunchAction.join(', ')}. Members of the owning team or admins; the reason is recorded`,
      tag: 'launches',
      params: z.object({ id: z.string(), action: z.enum(LaunchAction) }),
      body: ActionBodySchema,
      responses: { 200: { description: 'the launch after the action', schema: LaunchDocSchema } },
    },
    async (c) => {
      const action = parseOrThrow(z.enum(LaunchAction), c.req.param('action'), 'the launch action');
      // The body is optional: an action with no reason may be posted empty.
      const hasBody = Number(c.req.header('content-length') ?? '0') > 0 || c.req.header('transfer-encoding') !== undefined;
      const body = hasBody ? parseOrThrow(ActionBodySchema, await readJson(c), 'the request body') : {};
      return c.json(await launches.act(actorOf(c), c.req.param('id')!, action, body.reason ?? changeReason(c)));
    },
  );
}
