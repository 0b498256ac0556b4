import type { Context } from 'hono';
import { compress } from 'hono/compress';
import { z } from 'zod';
import { buildCatalog, CATALOG_FIELDS, CATALOG_FILTER_FIELDS } from '../../registry/catalog.js';
import type { Model } from '../../registry/model.js';
import type { ModelType } from '../../registry/modelType.js';
import type { RegistryService } from '../../registry/registryService.js';
import { Criticality, FunnelStage, ModelRole } from '../../registry/vocabulary.js';
import { ModelStatus } from '../../stability/evaluation.js';
import type { StabilityService } from '../../stability/stabilityService.js';
import type { AppEnv } from '../auth.js';
import { parseQuery } from '../http.js';
import { named, type ApiRoutes } from '../openapi.js';

const CatalogRowSchema = z.tuple([
  z.string().describe('model id'),
  z.string().describe('model type'),
  z.string().describe("the type's surface, from its name"),
  z.enum(FunnelStage),
  z.enum(Criticality).describe('effective tier'),
  z.string().describe("the type's owner team"),
  z.string().describe("the type's on-call rotation"),
  z.enum(ModelRole),
  z.number().describe('traffic share, 0 to 1'),
  z.enum(ModelStatus).describe('latest stability verdict; unmonitored without thresholds or when retired'),
  z.boolean().describe('retired'),
]);

const CatalogSchema = named(
  z.object({
    fields: z.array(z.enum(CATALOG_FIELDS)).describe('the meaning of each position of a row'),
    rows: z.array(CatalogRowSchema).describe('one per model, retired ones included, by id'),
    values: z.object(Object.fromEntries(CATALOG_FILTER_FIELDS.map((f) => [f, z.array(z.string())])) as Record<(typeof CATALOG_FILTER_FIELDS)[number], z.ZodArray<z.ZodString>>),
    seq: z.number().int().describe("the registry's change sequence number the rows were read at"),
    evaluatedAt: z.number().nullable().describe('epoch ms of the evaluation minute the statuses come from; null before the first'),
  }),
  'Catalog',
);

const NoQuery = z.object({}).strict();
const PAGE = 1000;

/** The catalog's ETag: it changes only when the registry changes or a new evaluation is written. Weak, as it is sent gzipped or not. */
const etagOf = (seq: number, evaluatedAt: number | null) => `W/"catalog-${seq}-${evaluatedAt ?? 'none'}"`;

/** Whether `If-None-Match` names `etag`, compared weakly (RFC 9110 §13.1.2); `*` matches anything. */
function ifNoneMatchHits(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
  return header.split(',').some((tag) => tag.trim() === '*' || opaque(tag) === opaque(etag));
}

async function everyPage<T>(list: (cursor: string | null) => Promise<{ items: T[]; nextCursor: string | null }>): Promise<T[]> {
  const all: T[] = [];
  let cursor: string | null = null;
  do {
    const page = await list(cursor);
    all.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return all;
}

/** Every model in one gzipped answer with an ETag, so the console filters the whole fleet in memory and a refresh that changed nothing is a 304. */
export function registerCatalogRoutes(routes: ApiRoutes, registry: RegistryService, stability: StabilityService): void {
  const gzip = compress();
  // The serialized catalog of the latest ETag: refreshes of an unchanged fleet neither list the
  // registry again nor serialize it again. Several requests at once share one build.
  let cached: { etag: string; body: Promise<string> } | null = null;

  const build = async (seq: number): Promise<string> => {
    const [types, models, verdicts] = await Promise.all([
      everyPage<ModelType>((cursor) => registry.listModelTypes({ limit: PAGE, cursor })),
      everyPage<Model>((cursor) => registry.listModels({ limit: PAGE, cursor })),
      stability.latestVerdicts(),
    ]);
    return JSON.stringify(buildCatalog({ types, models, statuses: verdicts.statuses, seq, evaluatedAt: verdicts.at }));
  };

  const serve = async (c: Context<AppEnv>): Promise<Response> => {
    parseQuery(c, NoQuery);
    // The ETag needs only the sequence and the latest evaluation's minute: a 304 reads no verdicts.
    const [seq, evaluatedAt] = await Promise.all([registry.store.latestSeq(), stability.latestEvaluatedMinute()]);
    const etag = etagOf(seq, evaluatedAt);
    // no-cache: the browser may keep it but asks every time, and the ETag makes that cheap.
    const headers = { etag, 'cache-control': 'private, no-cache' };
    if (ifNoneMatchHits(c.req.header('if-none-match'), etag)) return c.body(null, 304, headers);
    if (cached?.etag !== etag) {
      const body = build(seq);
      cached = { etag, body };
      body.catch(() => {
        if (cached?.body === body) cached = null;
      });
    }
    return c.body(await cached.body, 200, { ...headers, 'content-type': 'application/json' });
  };

  routes.add(
    {
      method: 'get',
      path: '/catalog',
      summary:
        'Every model, retired ones too, as one compact table (fields + rows) with each row\'s surface, funnel stage, tier, owner, on-call, role, traffic share and stability status, and the values of each filterable field. Gzipped when asked; send If-None-Match with the ETag to get a 304 when nothing changed',
      tag: 'models',
      query: NoQuery,
      responses: { 200: { description: 'the catalog, with its ETag (304 without a body when If-None-Match names it)', schema: CatalogSchema } },
    },
    async (c) => {
      await gzip(c, async () => {
        c.res = await serve(c);
      });
      return c.res;
    },
  );
}
