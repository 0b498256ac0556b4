import { z } from 'zod';
import { AlertSchema, AlertState } from '../../alerting/alert.js';
import type { AlertStore } from '../../alerting/alertStore.js';
import type { RegistryService } from '../../registry/registryService.js';
import { Criticality } from '../../registry/vocabulary.js';
import { parseDuration } from '../../stability/labeledEvent.js';
import { parseTimestamp } from '../../stability/eventBatch.js';
import type { StabilityService } from '../../stability/stabilityService.js';
import { actorOf } from '../auth.js';
import { changeReason, parseQuery, readJson } from '../http.js';
import { named, type ApiRoutes } from '../openapi.js';
import { parseOrThrow } from '../../core/zodIssues.js';

const Time = z
  .string()
  .transform((text, ctx) => {
    const ms = /^\d+$/.test(text) ? Number(text) : parseTimestamp(text);
    if (ms === null) {
      ctx.addIssue({ code: 'custom', message: `'${text}' is not epoch milliseconds or an RFC 3339 time such as 2026-11-25T10:00:00Z` });
      return z.NEVER;
    }
    return ms;
  })
  .optional();

const StabilityQuerySchema = z
  .object({
    from: Time.describe('start, epoch ms or RFC 3339; default 6 hours before to'),
    to: Time.describe('end, epoch ms or RFC 3339; default now'),
    step: z
      .string()
      .transform((text, ctx) => {
        const ms = parseDuration(text);
        if (ms === null) {
          ctx.addIssue({ code: 'custom', message: `'${text}' is not a duration: use e.g. 1m, 5m, 1h` });
          return z.NEVER;
        }
        return ms;
      })
      .optional()
      .describe('spacing of points, e.g. 1m, 5m, 1h; default gives about 360 points'),
  })
  .strict();

const ModelIdParams = z.object({ id: z.string() });

const BandSchema = z.object({ min: z.number().nullable(), max: z.number().nullable() });
const TaskPointSchema = z.object({ t: z.number(), count: z.number(), positives: z.number(), calibration: z.number().nullable(), ne: z.number().nullable(), status: z.string().nullable() });
const ModelStabilitySchema = named(
  z.object({
    model: z.string(),
    modelType: z.string(),
    tier: z.enum(Criticality),
    role: z.string(),
    windowMinutes: z.number(),
    from: z.number(),
    to: z.number(),
    step: z.number(),
    source: z.enum(['evaluations', 'buckets', 'mixed']),
    current: z.unknown().nullable().describe('the latest evaluation: status, and per task metrics, band, violations'),
    points: z.array(z.object({ t: z.number(), status: z.string().nullable(), unstableMinutes: z.number(), stableMinutes: z.number() })),
    tasks: z.array(z.object({ task: z.string(), thresholds: z.unknown().nullable(), points: z.array(TaskPointSchema) })),
  }),
  'ModelStability',
);

const RollupSchema = z.object({ key: z.string(), models: z.number(), stable: z.number(), unstable: z.number(), insufficientData: z.number() });
const FleetStabilitySchema = named(
  z.object({
    at: z.number().nullable(),
    models: z.object({ monitored: z.number(), unmonitored: z.number(), stable: z.number(), unstable: z.number(), insufficientData: z.number() }),
    bySurface: z.array(RollupSchema),
    byFunnelStage: z.array(RollupSchema),
    byTeam: z.array(RollupSchema),
    byTier: z.array(RollupSchema),
    unstable: z.array(z.object({ model: z.string(), tier: z.string(), role: z.string(), team: z.string(), violations: z.array(z.object({ task: z.string(), metric: z.string(), value: z.number(), band: BandSchema })) })),
  }),
  'FleetStability',
);

const SlosQuerySchema = z.object({ team: z.string().optional(), tier: z.enum(Criticality).optional(), model: z.string().optional() }).strict();
const SlosSchema = named(
  z.object({ at: z.number().nullable(), items: z.array(z.object({ model: z.string(), modelType: z.string(), tier: z.string(), team: z.string(), report: z.unknown() })) }),
  'Slos',
);

const AlertsQuerySchema = z
  .object({ state: z.enum(AlertState).optional(), model: z.string().optional(), limit: z.coerce.number().int().min(1).max(1000).default(200) })
  .strict();

const LearnBodySchema = z
  .object({
    days: z.number().int().min(1).max(90).default(14).describe('how much hourly history to learn from'),
    dryRun: z.boolean().default(false).describe('show what would be written without writing it'),
  })
  .strict();

/** Stability reads, SLOs, alerts, learning thresholds and ending an experiment. */
export function registerStabilityRoutes(routes: ApiRoutes, stability: StabilityService, alerts: AlertStore, registry: RegistryService): void {
  routes.add(
    {
      method: 'get',
      path: '/models/{id}/stability',
      summary: "A model's stability over time: per task calibration, NE, counts, status and band",
      tag: 'stability',
      params: ModelIdParams,
      query: StabilityQuerySchema,
      responses: { 200: { description: 'points per step', schema: ModelStabilitySchema } },
    },
    async (c) => {
      const query = parseQuery(c, StabilityQuerySchema);
      return c.json(await stability.modelStability(c.req.param('id')!, query));
    },
  );
  routes.add(
    { method: 'get', path: '/stability', summary: 'Fleet stability now: counts, rollups by surface, funnel stage, team and tier, and the unstable models', tag: 'stability', responses: { 200: { description: 'fleet summary', schema: FleetStabilitySchema } } },
    async (c) => c.json(await stability.fleet()),
  );
  routes.add(
    { method: 'get', path: '/slos', summary: 'Stability SLOs: SLI, error budget and burn rates per monitored model, worst budget first', tag: 'stability', query: SlosQuerySchema, responses: { 200: { description: 'SLO reports', schema: SlosSchema } } },
    async (c) => c.json(await stability.slos(parseQuery(c, SlosQuerySchema))),
  );
  routes.add(
    {
      method: 'get',
      path: '/alerts',
      summary: 'Alerts, firing first, with what on-call needs and what to do',
      tag: 'stability',
      query: AlertsQuerySchema,
      responses: { 200: { description: 'alerts', schema: z.object({ items: z.array(AlertSchema) }) } },
    },
    async (c) => c.json({ items: await alerts.list(parseQuery(c, AlertsQuerySchema)) }),
  );
  routes.add(
    {
      method: 'post',
      path: '/models/{id}/thresholds/learn',
      summary: "Learn a model's thresholds from its healthy history and write them to the registry with their basis",
      tag: 'stability',
      params: ModelIdParams,
      body: LearnBodySchema,
      responses: { 200: { description: 'learned thresholds, skipped tasks and the change written', schema: z.object({ model: z.string(), thresholds: z.record(z.string(), z.unknown()), skipped: z.record(z.string(), z.string()), change: z.unknown().nullable() }) } },
    },
    async (c) => {
      // No body means the defaults; a body must be valid JSON.
      const raw = c.req.raw.body === null || c.req.header('content-length') === '0' ? {} : await readJson(c);
      const body = parseOrThrow(LearnBodySchema, raw, 'the request body');
      return c.json(await stability.learn(actorOf(c), c.req.param('id')!, body));
    },
  );
  routes.add(
    {
      method: 'post',
      path: '/models/{id}/end-experiment',
      summary: "End an experiment, shadow or candidate: retire it and move its traffic back to the baseline, in one change recorded in history. Refuses a baseline (page the owner instead)",
      tag: 'stability',
      params: ModelIdParams,
      responses: { 200: { description: 'the retired model, the baseline and the changes', schema: z.object({ model: z.unknown(), baseline: z.unknown().nullable(), changes: z.array(z.unknown()) }) } },
    },
    async (c) => c.json(await registry.endExperiment(actorOf(c), c.req.param('id')!, changeReason(c))),
  );
}
