import { z } from 'zod';
import { parseOrThrow } from '../../core/zodIssues.js';
import { ApprovalSchema, ApprovalStatus } from '../../registry/approval.js';
import { ModelTypeSchema } from '../../registry/modelType.js';
import type { RegistryService } from '../../registry/registryService.js';
import { actorOf } from '../auth.js';
import { parseQuery, readJson } from '../http.js';
import { named, type ApiRoutes } from '../openapi.js';

const DecisionSchema = z.object({ reason: z.string().max(2000).optional() }).strict();
const QuerySchema = z.object({ status: z.enum(ApprovalStatus).optional(), limit: z.coerce.number().int().min(1).max(1000).default(100) }).strict();
const params = z.object({ id: z.coerce.number().int().positive() });
const Approval = named(ApprovalSchema, 'Approval');

/** Pending criticality elevations and the admin's decision on each. */
export function registerApprovalRoutes(routes: ApiRoutes, service: RegistryService): void {
  routes.add(
    { method: 'get', path: '/approvals', summary: 'List elevation requests, newest first', tag: 'approvals', query: QuerySchema, responses: { 200: { description: 'approvals', schema: z.object({ items: z.array(Approval) }) } } },
    async (c) => {
      const query = parseQuery(c, QuerySchema);
      return c.json({ items: await service.listApprovals(query.status ?? null, query.limit) });
    },
  );
  const idOf = (raw: string | undefined) => parseOrThrow(params, { id: raw }, 'approval id').id;
  const decision = async (c: Parameters<Parameters<ApiRoutes['add']>[1]>[0]) => {
    const text = c.req.header('content-length') === '0' || !c.req.header('content-type') ? {} : await readJson(c);
    return parseOrThrow(DecisionSchema, text, 'decision');
  };
  routes.add(
    {
      method: 'post',
      path: '/approvals/{id}/approve',
      summary: "Approve an elevation (platform admins only): the type takes the requested tier",
      tag: 'approvals',
      params,
      body: DecisionSchema,
      responses: { 200: { description: 'decided', schema: z.object({ approval: Approval, modelType: ModelTypeSchema }) } },
    },
    async (c) => {
      const body = await decision(c);
      return c.json(await service.approve(actorOf(c), idOf(c.req.param('id')), body.reason ?? null));
    },
  );
  routes.add(
    { method: 'post', path: '/approvals/{id}/reject', summary: 'Reject an elevation (platform admins only), saying why', tag: 'approvals', params, body: DecisionSchema, responses: { 200: { description: 'decided', schema: Approval } } },
    async (c) => {
      const body = await decision(c);
      return c.json(await service.reject(actorOf(c), idOf(c.req.param('id')), body.reason ?? null));
    },
  );
}
