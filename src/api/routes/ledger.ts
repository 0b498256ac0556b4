import { z } from 'zod';
import { DesiredEntrySchema } from '../../registry/configPlan.js';
import { parseOrThrow } from '../../core/zodIssues.js';
import type { RegistryService } from '../../registry/registryService.js';
import { RegistrySettingsSchema } from '../../registry/settings.js';
import { EntityKind } from '../../registry/vocabulary.js';
import { actorOf } from '../auth.js';
import { APPLY_BODY_LIMIT, changeReason, parseQuery, readJson } from '../http.js';
import type { ApiRoutes } from '../openapi.js';
import { ChangeRecordSchema } from './registryEntities.js';

const ChangesQuerySchema = z
  .object({
    after: z.coerce.number().int().min(0).default(0),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    wait: z.coerce.number().min(0).max(60).default(0).describe('seconds to wait for a change when there is none yet'),
    entity: z.enum(EntityKind).optional(),
    entityId: z.string().max(300).optional(),
  })
  .strict();

const ApplyRequestSchema = z
  .object({
    documents: z.array(DesiredEntrySchema).max(200_000),
    prune: z.boolean().default(false),
    dryRun: z.boolean().default(false),
  })
  .strict();

const ApplyResultSchema = z.object({
  applied: z.boolean(),
  summary: z.object({ create: z.number(), update: z.number(), delete: z.number() }),
  changes: z.array(z.object({ action: z.string(), kind: z.string(), key: z.string(), source: z.string().nullable(), patch: z.array(z.record(z.string(), z.unknown())), fields: z.array(z.object({ path: z.string(), from: z.unknown().optional(), to: z.unknown().optional() })) })),
});

const AssetsQuerySchema = z
  .object({ modelType: z.string().optional(), kind: z.string().optional(), uri: z.string().optional(), limit: z.coerce.number().int().min(1).max(1000).default(100) })
  .strict();

/** The ledger of changes, config-as-code apply, registry settings, asset look-up and who-am-I. */
export function registerLedgerRoutes(routes: ApiRoutes, service: RegistryService): void {
  routes.add(
    {
      method: 'get',
      path: '/changes',
      summary: 'Changes after a sequence number; long-polls with wait=SECONDS so followers see writes at once',
      tag: 'changes',
      query: ChangesQuerySchema,
      responses: { 200: { description: 'changes in order', schema: z.object({ items: z.array(ChangeRecordSchema), lastSeq: z.number() }) } },
    },
    async (c) => {
      const query = parseQuery(c, ChangesQuerySchema);
      const items = await service.feed.changesAfter(query.after, { limit: query.limit, waitSeconds: query.wait, entity: query.entity, entityId: query.entityId, signal: c.req.raw.signal });
      return c.json({ items, lastSeq: items.at(-1)?.seq ?? query.after });
    },
  );
  routes.add(
    {
      method: 'post',
      path: '/apply',
      summary: 'Plan (dryRun) or apply a config directory in one transaction, all or nothing',
      tag: 'config',
      body: ApplyRequestSchema,
      responses: { 200: { description: 'the plan, and whether it was applied', schema: ApplyResultSchema } },
    },
    async (c) => {
      const body = parseOrThrow(ApplyRequestSchema, await readJson(c, APPLY_BODY_LIMIT), 'apply request');
      return c.json(await service.applyConfig(actorOf(c), body.documents, { prune: body.prune, dryRun: body.dryRun, reason: changeReason(c) }));
    },
  );
  routes.add(
    { method: 'get', path: '/settings', summary: 'Registry settings: known apps and architectures', tag: 'settings', responses: { 200: { description: 'settings', schema: RegistrySettingsSchema } } },
    async (c) => c.json(await service.settings()),
  );
  routes.add(
    { method: 'put', path: '/settings', summary: 'Replace registry settings (admins)', tag: 'settings', body: RegistrySettingsSchema, responses: { 200: { description: 'settings', schema: RegistrySettingsSchema } } },
    async (c) => c.json(await service.putSettings(actorOf(c), await readJson(c), changeReason(c))),
  );
  routes.add(
    {
      method: 'get',
      path: '/assets',
      summary: 'Find models by their assets: checkpoints, training flows, inference services, by model type',
      tag: 'models',
      query: AssetsQuerySchema,
      responses: { 200: { description: 'assets', schema: z.object({ items: z.array(z.object({ modelId: z.string(), modelType: z.string(), name: z.string(), kind: z.string(), uri: z.string() })) }) } },
    },
    async (c) => {
      const query = parseQuery(c, AssetsQuerySchema);
      return c.json({ items: await service.store.listAssets(query, query.limit) });
    },
  );
  routes.add(
    { method: 'get', path: '/whoami', summary: 'The token this request carries: name, role, team', tag: 'auth', responses: { 200: { description: 'actor', schema: z.object({ name: z.string(), role: z.string(), team: z.string().nullable() }) } } },
    (c) => c.json(actorOf(c)),
  );
}
