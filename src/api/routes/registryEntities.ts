import type { Context } from 'hono';
import { z } from 'zod';
import { invalidInput } from '../../core/errors.js';
import { parseOrThrow } from '../../core/zodIssues.js';
import type { ChangeRecord } from '../../registry/change.js';
import type { RegistryKind } from '../../registry/entry.js';
import { ModelInputSchema, ModelSchema } from '../../registry/model.js';
import { ModelTypeInputSchema, ModelTypeSchema } from '../../registry/modelType.js';
import type { RegistryService, RegistryView } from '../../registry/registryService.js';
import { TeamInputSchema, TeamSchema } from '../../registry/team.js';
import { actorOf, type AppEnv } from '../auth.js';
import { changeReason, etagOf, ifMatch, parseQuery, readJson } from '../http.js';
import { ListQuerySchema, ModelListQuerySchema, ModelTypeListQuerySchema, pageOf } from '../listQueries.js';
import { named, type ApiRoutes } from '../openapi.js';

export const ChangeRecordSchema = named(
  z.object({
    seq: z.number().int(),
    entity: z.string(),
    entityId: z.string(),
    version: z.number().int(),
    action: z.string(),
    actor: z.string(),
    at: z.string(),
    reason: z.string().nullable(),
    before: z.unknown(),
    after: z.unknown(),
    patch: z.array(z.record(z.string(), z.unknown())),
  }),
  'ChangeRecord',
);

const RevertSchema = z.object({ version: z.number().int().positive(), reason: z.string().max(2000).optional() }).strict();

interface EntityRouteConfig<K extends RegistryKind> {
  kind: K;
  collection: string;
  param: string;
  tag: string;
  input: z.ZodType;
  output: z.ZodType;
  query: z.ZodObject;
  list: (service: RegistryService, query: never) => Promise<{ items: RegistryView[K][]; nextCursor: string | null }>;
  get: (service: RegistryService, key: string) => Promise<RegistryView[K]>;
}

const configs = {
  team: {
    kind: 'team',
    collection: 'teams',
    param: 'name',
    tag: 'teams',
    input: named(TeamInputSchema, 'TeamInput'),
    output: named(TeamSchema, 'Team'),
    query: ListQuerySchema,
    list: (s, q) => s.listTeams(q),
    get: (s, k) => s.getTeam(k),
  } satisfies EntityRouteConfig<'team'>,
  modelType: {
    kind: 'modelType',
    collection: 'model-types',
    param: 'name',
    tag: 'model types',
    input: named(ModelTypeInputSchema, 'ModelTypeInput'),
    output: named(ModelTypeSchema, 'ModelType'),
    query: ModelTypeListQuerySchema,
    list: (s, q) => s.listModelTypes(q),
    get: (s, k) => s.getModelType(k),
  } satisfies EntityRouteConfig<'modelType'>,
  model: {
    kind: 'model',
    collection: 'models',
    param: 'id',
    tag: 'models',
    input: named(ModelInputSchema, 'ModelInput'),
    output: named(ModelSchema, 'Model'),
    query: ModelListQuerySchema,
    list: (s, q) => s.listModels(q),
    get: (s, k) => s.getModel(k),
  } satisfies EntityRouteConfig<'model'>,
};

function entryResponse(c: Context<AppEnv>, entry: { version: number } | null, status: 200 | 201, change: ChangeRecord | null) {
  if (entry) c.header('ETag', etagOf(entry.version));
  if (change) c.header('X-Change-Seq', String(change.seq));
  return c.json(entry, status);
}

/** List, create, read, replace, patch, delete, history and revert for teams, model types and models. */
export function registerRegistryEntityRoutes(routes: ApiRoutes, service: RegistryService): void {
  for (const config of Object.values(configs) as EntityRouteConfig<RegistryKind>[]) {
    const { kind, collection, param, tag } = config;
    const base = `/${collection}`;
    const item = `${base}/{${param}}`;
    const params = z.object({ [param]: z.string() });
    const key = (c: Context<AppEnv>) => c.req.param(param)!;

    routes.add(
      { method: 'get', path: base, summary: `List ${collection}, filtered, in stable order with cursor pages`, tag, query: config.query, responses: { 200: { description: 'a page', schema: pageOf(config.output) } } },
      async (c) => c.json(await config.list(service, parseQuery(c, config.query) as never)),
    );
    routes.add(
      { method: 'post', path: base, summary: `Create a ${tag.replace(/s$/, '')}`, tag, body: config.input, responses: { 201: { description: 'created', schema: config.output } } },
      async (c) => {
        const input = await readJson(c);
        const result = await service.write(actorOf(c), kind, { action: 'create', kind, input }, changeReason(c));
        c.header('Location', `/api/v1${base}/${encodeURIComponent(result.entry ? (result.entry as { name?: string; id?: string }).name ?? (result.entry as { id: string }).id : '')}`);
        return entryResponse(c, result.entry, 201, result.change);
      },
    );
    routes.add(
      { method: 'get', path: item, summary: `Read one`, tag, params, responses: { 200: { description: 'the entry, with its ETag', schema: config.output } } },
      async (c) => entryResponse(c, await config.get(service, key(c)), 200, null),
    );
    routes.add(
      {
        method: 'patch',
        path: item,
        summary: 'Change some fields (JSON Merge Patch, RFC 7396)',
        tag,
        params,
        body: z.record(z.string(), z.unknown()),
        bodyContentType: 'application/merge-patch+json',
        ifMatch: 'required',
        responses: { 200: { description: 'the entry after the change', schema: config.output } },
      },
      async (c) => {
        const version = ifMatch(c, true);
        const mergePatch = await readJson(c);
        if (mergePatch === null || typeof mergePatch !== 'object' || Array.isArray(mergePatch)) {
          // RFC 7396 would replace the whole entry with a non-object; here that can only be a mistake.
          const got = mergePatch === null ? 'null' : Array.isArray(mergePatch) ? 'an array' : `a ${typeof mergePatch}`;
          throw invalidInput(`a merge patch is a JSON object of the fields to change (got ${got}), e.g. {"description": "..."}; use PUT to replace the entry`, [
            { path: '(body)', message: `expected a JSON object, got ${got}` },
          ]);
        }
        const result = await service.write(actorOf(c), kind, { action: 'patch', kind, key: key(c), mergePatch, ifVersion: version }, changeReason(c));
        return entryResponse(c, result.entry, 200, result.change);
      },
    );
    routes.add(
      { method: 'put', path: item, summary: 'Replace the entry', tag, params, body: config.input, ifMatch: 'required', responses: { 200: { description: 'the entry after the change', schema: config.output } } },
      async (c) => {
        const version = ifMatch(c, true);
        const input = await readJson(c);
        const result = await service.write(actorOf(c), kind, { action: 'update', kind, key: key(c), input, ifVersion: version }, changeReason(c));
        return entryResponse(c, result.entry, 200, result.change);
      },
    );
    routes.add(
      { method: 'delete', path: item, summary: 'Delete the entry (its history stays)', tag, params, ifMatch: 'required', responses: { 204: { description: 'deleted' } } },
      async (c) => {
        const version = ifMatch(c, true);
        const result = await service.write(actorOf(c), kind, { action: 'delete', kind, key: key(c), ifVersion: version }, changeReason(c));
        if (result.change) c.header('X-Change-Seq', String(result.change.seq));
        return c.body(null, 204);
      },
    );
    routes.add(
      { method: 'get', path: `${item}/history`, summary: 'Every change to the entry, oldest first', tag, params, responses: { 200: { description: 'changes', schema: z.object({ items: z.array(ChangeRecordSchema) }) } } },
      async (c) => c.json({ items: await service.history(kind, key(c)) }),
    );
    routes.add(
      {
        method: 'post',
        path: `${item}/revert`,
        summary: 'Write an earlier version again, as a new change (also restores a deleted entry)',
        tag,
        params,
        body: RevertSchema,
        ifMatch: 'optional',
        responses: { 200: { description: 'the entry after the revert', schema: config.output } },
      },
      async (c) => {
        const body = parseOrThrow(RevertSchema, await readJson(c), 'revert request');
        const result = await service.write(
          actorOf(c),
          kind,
          { action: 'revert', kind, key: key(c), toVersion: body.version, ifVersion: ifMatch(c, false) },
          body.reason ?? changeReason(c),
        );
        return entryResponse(c, result.entry, 200, result.change);
      },
    );
  }
}
