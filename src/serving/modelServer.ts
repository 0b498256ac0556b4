import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { DomainError, invalidInput, type ErrorDetail } from '../core/errors.js';
import { checkFaults, failureSchedule, type ModelServerFaults } from './faultInjection.js';
import { generateArtifact, loadArtifact, parameterCount, type ArtifactSize, type ModelArtifact } from './modelArtifact.js';
import { parsePredictRequest, Scorer } from './scorer.js';
import { readBoundedBody } from './boundedBody.js';

/**
 * The model server: `POST /predict`, `GET /healthz`, `GET /metrics` over node:http. No framework:
 * three routes need no router, and every layer between the socket and the scorer costs throughput
 * that capacity measurements would then attribute to the model.
 */

/** Largest `POST /predict` body: 2,000 candidates with a few dozen features each fit with room to spare. */
export const MAX_PREDICT_BODY_BYTES = 4 * 1024 * 1024;

/** Error codes of the model server's answers, and their statuses. */
export const ModelServerError = {
  invalid_input: 400,
  not_found: 404,
  method_not_allowed: 405,
  payload_too_large: 413,
  internal: 500,
  unavailable: 503,
} as const;
export type ModelServerErrorCode = keyof typeof ModelServerError;

/** `POST /predict` answer: a score per task per candidate, in the candidates' order. */
export interface PredictResponse {
  model: string;
  scores: Array<{ id: string } & Record<string, number | string>>;
  /** Server time from the whole body received to the answer: JSON parsing, checks and scoring. */
  tookMs: number;
}

/**
 * The model server's Prometheus metrics, in a registry of their own (so tests and benchmarks can
 * run several servers in one process); every series carries the `model` label.
 */
export class ModelServerMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'route' | 'status'>;
  readonly duration: Histogram<'route'>;
  readonly candidates: Counter;
  readonly candidatesPerRequest: Histogram;
  readonly multiplyAdds: Counter;

  constructor(artifact: ModelArtifact, registry = new Registry()) {
    this.registry = registry;
    registry.setDefaultLabels({ model: artifact.model });
    // Process CPU and memory: with candidates scored, the cost of a request in CPU seconds.
    collectDefaultMetrics({ register: registry });
    this.requests = new Counter({ name: 'modelfleet_model_server_requests_total', help: 'Requests answered, by route (predict, healthz, metrics, other) and HTTP status', labelNames: ['route', 'status'], registers: [registry] });
    this.duration = new Histogram({
      name: 'modelfleet_model_server_request_duration_seconds',
      help: 'Time from a request arriving to its answer sent, by route',
      labelNames: ['route'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    });
    this.candidates = new Counter({ name: 'modelfleet_model_server_candidates_scored_total', help: 'Candidates scored (each gets a score per task)', registers: [registry] });
    this.candidatesPerRequest = new Histogram({ name: 'modelfleet_model_server_candidates_per_request', help: 'Candidates in each scored predict request', buckets: [1, 10, 50, 100, 200, 500, 1000, 2000], registers: [registry] });
    this.multiplyAdds = new Counter({ name: 'modelfleet_model_server_multiply_adds_total', help: 'Multiply-adds spent scoring: the compute cost of the traffic served', registers: [registry] });
    // Gauges of the artifact take the first worker's value when workers are aggregated, not their sum.
    new Gauge({ name: 'modelfleet_model_server_artifact_parameters', help: 'Parameters (float32 weights) of the served artifact', aggregator: 'first', registers: [registry] }).set(parameterCount(artifact));
    new Gauge({
      name: 'modelfleet_model_server_artifact_info',
      help: 'The served artifact: tasks and dimensions in labels, value 1',
      labelNames: ['tasks', 'feature_dim', 'embedding_dim', 'hidden'],
      aggregator: 'first',
      registers: [registry],
    }).set({ tasks: artifact.tasks.join(','), feature_dim: String(artifact.featureDim), embedding_dim: String(artifact.embeddingDim), hidden: artifact.hidden.join(',') }, 1);
  }
}

type Route = 'predict' | 'healthz' | 'metrics' | 'other';
const ROUTES: Record<string, { route: Route; method: string }> = {
  '/predict': { route: 'predict', method: 'POST' },
  '/healthz': { route: 'healthz', method: 'GET' },
  '/metrics': { route: 'metrics', method: 'GET' },
};

/** How the handler reads the metrics text: its own registry, or (in a worker) all workers' together. */
export type MetricsSource = () => Promise<{ contentType: string; text: string }>;

export interface ModelServerHandlerOptions {
  metrics: ModelServerMetrics;
  metricsSource?: MetricsSource;
  /** Where unexpected errors are reported (default: stderr). */
  log?: (line: string) => void;
  /** Injected failures and delay on `POST /predict`, to rehearse a misbehaving model (default none). */
  faults?: ModelServerFaults;
}

function send(res: ServerResponse, status: number, body: string, contentType: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), ...extra });
  res.end(body);
}

function sendError(res: ServerResponse, code: ModelServerErrorCode, message: string, details: ErrorDetail[] = [], extra: Record<string, string> = {}): void {
  send(res, ModelServerError[code], JSON.stringify({ error: { code, message, details } }), 'application/json', extra);
}

/** The request handler of one model server process. */
export function createModelServerHandler(scorer: Scorer, options: ModelServerHandlerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { metrics } = options;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const metricsSource: MetricsSource = options.metricsSource ?? (async () => ({ contentType: metrics.registry.contentType, text: await metrics.registry.metrics() }));
  const health = JSON.stringify({ status: 'ok', model: scorer.model, tasks: scorer.tasks, pid: process.pid });
  const errorRate = options.faults?.errorRate ?? 0;
  const extraLatencyMs = options.faults?.extraLatencyMs ?? 0;
  const injectFailure = errorRate > 0 ? failureSchedule(errorRate) : () => false;

  const predict = (req: IncomingMessage, res: ServerResponse) => {
    let body: Buffer = Buffer.alloc(0);
    readBoundedBody(
      req,
      MAX_PREDICT_BODY_BYTES,
      (received) => {
        body = received;
        const started = performance.now();
        if (extraLatencyMs > 0) setTimeout(() => respond(started), extraLatencyMs);
        else respond(started);
      },
      (declared) =>
        sendError(
          res,
          'payload_too_large',
          declared === null
            ? `the body is more than ${MAX_PREDICT_BODY_BYTES} bytes (4 MiB): send fewer candidates per request`
            : `the body is ${declared} bytes; at most ${MAX_PREDICT_BODY_BYTES} (4 MiB): send fewer candidates per request`,
          [],
          { connection: 'close' },
        ),
    );
    const respond = (started: number) => {
      if (injectFailure()) {
        sendError(res, 'internal', `injected failure: this model server runs with --error-rate ${errorRate} to rehearse a failing model`);
        return;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch (error) {
        const message = body.length === 0 ? 'the body is empty: send a JSON predict request ({"user": {...}, "candidates": [...]})' : `the body is not valid JSON: ${(error as Error).message}`;
        sendError(res, 'invalid_input', message, [{ path: '(body)', message }]);
        return;
      }
      try {
        const result = scorer.score(parsePredictRequest(parsed));
        const answer: PredictResponse = { model: result.model, scores: result.scores, tookMs: Math.round((performance.now() - started) * 1000) / 1000 };
        send(res, 200, JSON.stringify(answer), 'application/json');
        metrics.candidates.inc(result.scores.length);
        metrics.candidatesPerRequest.observe(result.scores.length);
        metrics.multiplyAdds.inc(result.multiplyAdds);
      } catch (error) {
        if (error instanceof DomainError && error.code === 'invalid_input') sendError(res, 'invalid_input', error.message, error.details);
        else {
          log(`model-server: predict failed: ${(error as Error)?.stack ?? error}`);
          sendError(res, 'internal', 'internal error; the server log has the details');
        }
      }
    };
    req.on('error', () => res.destroy());
  };

  return (req, res) => {
    const started = performance.now();
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const target = ROUTES[query < 0 ? url : url.slice(0, query)];
    const route: Route = target?.route ?? 'other';
    res.once('finish', () => {
      metrics.requests.inc({ route, status: String(res.statusCode) });
      metrics.duration.observe({ route }, (performance.now() - started) / 1000);
    });
    if (!target) {
      req.resume();
      sendError(res, 'not_found', `no route ${req.method} ${url}: the model server answers POST /predict, GET /healthz and GET /metrics`);
      return;
    }
    if (req.method !== target.method) {
      req.resume();
      sendError(res, 'method_not_allowed', `${url} takes ${target.method}, not ${req.method}`, [], { allow: target.method });
      return;
    }
    if (route === 'predict') return predict(req, res);
    req.resume();
    if (route === 'healthz') return send(res, 200, health, 'application/json');
    metricsSource().then(
      ({ contentType, text }) => send(res, 200, text, contentType),
      (error: Error) => sendError(res, 'unavailable', `metrics are unavailable: ${error.message}`),
    );
  };
}

/** A listening model server. */
export interface RunningModelServer {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  port: number;
  /** Processes serving: 1 in process, or the cluster's workers. */
  workers: number;
  /** Stops accepting, lets requests in flight finish (closing stragglers after a grace period), and resolves when stopped. */
  close(): Promise<void>;
}

/** How long close() lets requests in flight finish before it cuts their connections. */
const CLOSE_GRACE_MS = 5000;

/** The base URL of a server listening on host:port (IPv6 hosts in brackets). */
export const urlOf = (host: string, port: number) => `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

/** Serves one scorer from this process on `host:port` (0: any free port). */
export async function listenModelServer(
  scorer: Scorer,
  options: { host: string; port: number; metrics: ModelServerMetrics; metricsSource?: MetricsSource; log?: (line: string) => void; faults?: ModelServerFaults },
): Promise<RunningModelServer & { server: Server }> {
  const server = createServer(createModelServerHandler(scorer, options));
  // Longer than the 60 s idle timeout of common load balancers, so the server never closes a
  // keep-alive connection that a balancer is about to reuse (which would fail that request).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    const fail = (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? invalidInput(`port ${options.port} on ${options.host} is in use: pass --port with a free one (or 0 for any)`) : error);
    server.once('error', fail);
    server.listen(options.port, options.host, () => {
      server.off('error', fail);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | null = null;
  return {
    server,
    url: urlOf(options.host, port),
    port,
    workers: 1,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      })),
  };
}

/** What to serve and where. */
export interface ModelServerOptions {
  /** The model id served; an artifact must be this model's. */
  model: string;
  /** An artifact, or the path of an artifact file. Default: generated deterministically from `model`, `tasks`, `size` and `seed`. */
  artifact?: ModelArtifact | string;
  /** Tasks of the generated artifact (default PLIKE, PCOMMENT, PFOLLOW). */
  tasks?: string[];
  /** Dimensions of the generated artifact (default medium). */
  size?: ArtifactSize;
  /** Seed of the generated artifact (default derived from `model`). */
  seed?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: any free port. */
  port?: number;
  /** Processes sharing the port (node:cluster); default 1, serving from this process. */
  workers?: number;
  /** Where the server reports worker restarts and unexpected errors (default: stderr). */
  log?: (line: string) => void;
  /** Injected failures and delay on `POST /predict`, for rehearsing failures (each worker applies them to its own requests). */
  faults?: ModelServerFaults;
}

/** The artifact options describe: the given one (checked against the model id) or a generated one. */
export async function resolveArtifact(options: Pick<ModelServerOptions, 'model' | 'artifact' | 'tasks' | 'size' | 'seed'>): Promise<ModelArtifact> {
  if (options.artifact === undefined) {
    return generateArtifact({ model: options.model, ...(options.tasks ? { tasks: options.tasks } : {}), ...(options.size ? { size: options.size } : {}), ...(options.seed !== undefined ? { seed: options.seed } : {}) });
  }
  const given = [options.tasks && 'tasks', options.size && 'size', options.seed !== undefined && 'seed'].filter(Boolean);
  if (given.length) throw invalidInput(`${given.join(', ')} describe a generated artifact and cannot be combined with an artifact: the artifact has its own`);
  const artifact = typeof options.artifact === 'string' ? await loadArtifact(options.artifact) : options.artifact;
  if (artifact.model !== options.model) {
    const source = typeof options.artifact === 'string' ? `artifact ${options.artifact}` : 'the artifact';
    throw invalidInput(`${source} holds model ${artifact.model}, not ${options.model}: serve it as ${artifact.model}, or pass that model's artifact`);
  }
  return artifact;
}

/**
 * Starts a model server: in this process with one worker, else a node:cluster primary whose workers
 * share the port (the primary restarts any worker that dies). Resolves once every worker listens.
 */
export async function startModelServer(options: ModelServerOptions): Promise<RunningModelServer> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 0;
  const workers = options.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 1 || workers > 256) throw invalidInput(`workers must be a whole number from 1 to 256, not ${workers}`);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw invalidInput(`port must be a port number (0-65535; 0 for any free port), not ${port}`);
  if (options.faults) checkFaults(options.faults);
  const artifact = await resolveArtifact(options);
  if (workers === 1) {
    const running = await listenModelServer(new Scorer(artifact), { host, port, metrics: new ModelServerMetrics(artifact), ...(options.log ? { log: options.log } : {}), ...(options.faults ? { faults: options.faults } : {}) });
    return { url: running.url, port: running.port, workers: 1, close: running.close };
  }
  const { startCluster } = await import('./modelServerCluster.js');
  return startCluster({ ...options, host, port, workers }, artifact);
}
