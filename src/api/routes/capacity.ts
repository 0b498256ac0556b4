import { z } from 'zod';
import type { CapacityService } from '../../capacity/capacityService.js';
import { EstimateRequestSchema, type CapacityEstimateJobs } from '../../capacity/estimateJobs.js';
import { MAX_RECORDING_BYTES } from '../../capacity/recording.js';
import type { RecordingService } from '../../capacity/recordingService.js';
import { invalidInput } from '../../core/errors.js';
import { actorOf } from '../auth.js';
import { changeReason, parseQuery, readBody, readJson } from '../http.js';
import { named, type ApiRoutes } from '../openapi.js';
import { parseOrThrow } from '../../core/zodIssues.js';

const RecordingInfoSchema = named(
  z.object({
    id: z.string(),
    modelType: z.string(),
    name: z.string(),
    file: z.string(),
    requests: z.number().int(),
    bytes: z.number().int(),
    sha256: z.string(),
    source: z.string(),
    createdBy: z.string(),
    createdAt: z.string(),
  }),
  'RecordingInfo',
);

const ImportQuerySchema = z.object({ name: z.string().optional().describe('a name for the recording; default recording-<time>') }).strict();

const CostBodySchema = z
  .object({
    peakQps: z.number().positive().describe("the model type's peak demand"),
    headroom: z.number().min(0).max(10).optional().describe('spare capacity above the peak; default 0.3'),
    minReplicas: z.number().int().min(1).max(10_000).optional().describe('redundancy floor; default 2'),
    unitCost: z.number().nonnegative().optional().describe("cost of one replica; default the model's capacity profile"),
    write: z.boolean().default(false).describe("write the replicas to the model's capacity profile"),
  })
  .strict();

const CostSchema = named(
  z.object({
    model: z.string(),
    replicas: z.number().int(),
    cost: z.number(),
    utilizationAtPeak: z.number(),
    baselineModel: z.string().nullable(),
    baseline: z.object({ replicas: z.number(), cost: z.number() }).nullable(),
    delta: z.object({ replicas: z.number(), cost: z.number() }).nullable(),
    input: z.object({ peakQps: z.number(), headroom: z.number(), minReplicas: z.number(), maxQpsPerReplica: z.number(), unitCost: z.number() }),
    change: z.unknown().nullable(),
  }),
  'CapacityCost',
);

const EstimateJobSchema = named(
  z.object({
    id: z.string(),
    model: z.string(),
    status: z.enum(['running', 'succeeded', 'failed']),
    requestedBy: z.string(),
    createdAt: z.string(),
    finishedAt: z.string().nullable(),
    request: z.unknown(),
    progress: z.object({ step: z.number(), phase: z.string(), offeredQps: z.number(), good: z.number().nullable(), bad: z.number().nullable() }).nullable(),
    result: z.unknown().nullable().describe('maxQps, verdict, converged, reason, stoppers, steps (offered and achieved rate, p50, p99, error rate, pass, stopper)'),
    error: z.string().nullable(),
    change: z.unknown().nullable(),
  }),
  'CapacityEstimateJob',
);

/** Recorded traffic per model type, capacity estimates, and launch sizing. */
export function registerCapacityRoutes(routes: ApiRoutes, recordings: RecordingService, capacity: CapacityService, estimates: CapacityEstimateJobs): void {
  routes.add(
    {
      method: 'post',
      path: '/models/{id}/capacity/estimate',
      summary:
        "Measure one replica's maximum stable QPS by replaying a recording of the model's type against `target` (open loop, stoppers on p99 and error rate); runs in the background, and on convergence writes the capacity and its provenance to the model",
      tag: 'capacity',
      params: z.object({ id: z.string() }),
      body: EstimateRequestSchema,
      responses: { 202: { description: 'the estimate, running: poll GET /capacity/estimates/{id}', schema: EstimateJobSchema } },
    },
    async (c) => {
      const job = await estimates.start(actorOf(c), c.req.param('id')!, await readJson(c));
      c.header('Location', `/api/v1/capacity/estimates/${job.id}`);
      return c.json(job, 202);
    },
  );
  routes.add(
    { method: 'get', path: '/capacity/estimates/{id}', summary: 'A capacity estimate: progress while it runs, then the answer and every step', tag: 'capacity', params: z.object({ id: z.string() }), responses: { 200: { description: 'the estimate', schema: EstimateJobSchema } } },
    async (c) => c.json(await estimates.get(c.req.param('id')!)),
  );
  routes.add(
    { method: 'get', path: '/models/{id}/capacity/estimates', summary: "A model's capacity estimates, newest first", tag: 'capacity', params: z.object({ id: z.string() }), responses: { 200: { description: 'estimates', schema: z.object({ items: z.array(EstimateJobSchema) }) } } },
    async (c) => c.json({ items: await estimates.list(c.req.param('id')!) }),
  );
  routes.add(
    {
      method: 'post',
      path: '/model-types/{name}/recordings',
      summary: "Import recorded traffic for a model type's capacity estimates: NDJSON, one request a line; every bad line is reported and nothing is stored",
      tag: 'capacity',
      params: z.object({ name: z.string() }),
      query: ImportQuerySchema,
      bodyContentType: 'application/x-ndjson',
      body: z.string(),
      responses: { 201: { description: 'the stored recording', schema: RecordingInfoSchema } },
    },
    async (c) => {
      const query = parseQuery(c, ImportQuerySchema);
      const type = c.req.header('content-type') ?? '';
      if (!/^(application\/(x-)?ndjson|application\/jsonl|text\/plain)\b/i.test(type)) {
        throw invalidInput(`send the recording as NDJSON with Content-Type: application/x-ndjson (got '${type || 'none'}')`);
      }
      const text = (await readBody(c, MAX_RECORDING_BYTES)).toString('utf8');
      const info = await recordings.import(actorOf(c), c.req.param('name')!, text, { name: query.name });
      return c.json(info, 201);
    },
  );
  routes.add(
    {
      method: 'get',
      path: '/model-types/{name}/recordings',
      summary: "A model type's recordings, newest first",
      tag: 'capacity',
      params: z.object({ name: z.string() }),
      responses: { 200: { description: 'recordings', schema: z.object({ items: z.array(RecordingInfoSchema) }) } },
    },
    async (c) => c.json({ items: await recordings.list(c.req.param('name')!) }),
  );
  routes.add(
    { method: 'get', path: '/recordings/{id}', summary: 'One recording', tag: 'capacity', params: z.object({ id: z.string() }), responses: { 200: { description: 'the recording', schema: RecordingInfoSchema } } },
    async (c) => c.json(await recordings.get(c.req.param('id')!)),
  );
  routes.add(
    { method: 'get', path: '/recordings/{id}/content', summary: "A recording's requests, as NDJSON", tag: 'capacity', params: z.object({ id: z.string() }), responses: { 200: { description: 'NDJSON' } } },
    async (c) => c.body(await recordings.content(c.req.param('id')!), 200, { 'content-type': 'application/x-ndjson' }),
  );
  routes.add(
    {
      method: 'post',
      path: '/models/{id}/capacity/cost',
      summary: "Replicas and cost for a model at a peak demand, from its measured capacity, and the change against its type's baseline; write: true records the replicas on the model",
      tag: 'capacity',
      params: z.object({ id: z.string() }),
      body: CostBodySchema,
      responses: { 200: { description: 'the sizing', schema: CostSchema } },
    },
    async (c) => {
      const body = parseOrThrow(CostBodySchema, await readJson(c), 'the request body');
      return c.json(await capacity.cost(actorOf(c), c.req.param('id')!, body, changeReason(c)));
    },
  );
}
