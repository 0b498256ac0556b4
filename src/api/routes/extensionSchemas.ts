import { z } from 'zod';
import { ExtensionSchemaInputSchema, ExtensionSchemaSchema } from '../../registry/extensionSchema.js';
import type { RegistryService } from '../../registry/registryService.js';
import { actorOf } from '../auth.js';
import { changeReason, etagOf, ifMatch, readJson } from '../http.js';
import { named, type ApiRoutes } from '../openapi.js';
import { ChangeRecordSchema } from './registryEntities.js';

const params = z.object({ name: z.string() });
const Output = named(ExtensionSchemaSchema, 'ExtensionSchema');

/** JSON Schemas that admins register for the `extended` attributes of model types and models. */
export function registerExtensionSchemaRoutes(routes: ApiRoutes, service: RegistryService): void {
  const tag = 'extension schemas';
  routes.add(
    { method: 'get', path: '/extension-schemas', summary: 'List extension schemas', tag, responses: { 200: { description: 'schemas', schema: z.object({ items: z.array(Output) }) } } },
    async (c) => c.json({ items: await service.listExtensionSchemas() }),
  );
  routes.add(
    { method: 'post', path: '/extension-schemas', summary: 'Register an extension schema (admins)', tag, body: ExtensionSchemaInputSchema, responses: { 201: { description: 'created', schema: Output } } },
    async (c) => {
      const saved = await service.putExtensionSchema(actorOf(c), await readJson(c), null, changeReason(c), 'create');
      c.header('ETag', etagOf(saved.version));
      return c.json(saved, 201);
    },
  );
  routes.add(
    { method: 'get', path: '/extension-schemas/{name}', summary: 'Read one', tag, params, responses: { 200: { description: 'the schema', schema: Output } } },
    async (c) => {
      const found = await service.getExtensionSchema(c.req.param('name')!);
      c.header('ETag', etagOf(found.version));
      return c.json(found);
    },
  );
  routes.add(
    { method: 'put', path: '/extension-schemas/{name}', summary: 'Replace (admins)', tag, params, body: ExtensionSchemaInputSchema, ifMatch: 'required', responses: { 200: { description: 'saved', schema: Output } } },
    async (c) => {
      const version = ifMatch(c, true)!;
      const input = await readJson(c);
      const saved = await service.putExtensionSchema(actorOf(c), { ...(input as object), name: c.req.param('name') }, version, changeReason(c), 'update');
      c.header('ETag', etagOf(saved.version));
      return c.json(saved);
    },
  );
  routes.add(
    { method: 'delete', path: '/extension-schemas/{name}', summary: 'Delete (admins)', tag, params, ifMatch: 'required', responses: { 204: { description: 'deleted' } } },
    async (c) => {
      await service.deleteExtensionSchema(actorOf(c), c.req.param('name')!, ifMatch(c, true)!, changeReason(c));
      return c.body(null, 204);
    },
  );
  routes.add(
    { method: 'get', path: '/extension-schemas/{name}/history', summary: 'Every change to the schema', tag, params, responses: { 200: { description: 'changes', schema: z.object({ items: z.array(ChangeRecordSchema) }) } } },
    async (c) => c.json({ items: await service.history('extensionSchema', c.req.param('name')!) }),
  );
}
