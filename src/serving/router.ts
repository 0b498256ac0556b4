import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { invalidInput } from '../core/errors.js';
import { armAt, pickArm, type Allocation, type Arm } from './allocation.js';
import { readBoundedBody } from './boundedBody.js';
import type { AllocationSource, AllocationTable } from './allocationSource.js';
import type { ReplicaDirectory } from './executor.js';
import { urlOf } from './modelServer.js';
import { classifyFailure, ReplicaBalancer, type ReplicaAnswer, type ReplicaBalancerOptions } from './replicaBalancer.js';
import { RouterMetrics, UNKNOWN_TYPE, type RouterOutcome } from './routerMetrics.js';
import type { RouterTraffic } from './routerTraffic.js';
import type { TrafficSampler } from './trafficSampler.js';
import { unitIdFromBody } from './unitId.js';

/**
 * The router: `POST /rank/{modelType}` sends a predict request to one of the type's models, in the
 * proportions of their traffic shares, and keeps each unit (user) in one arm while the shares hold
 * (see `allocation.ts`). It is what makes a launch's share changes real, so it must lose no request
 * while replicas come and go:
 * - a replica that refuses or resets the connection before its answer is complete is tried once more
 *   on another replica of the same model (predict is idempotent), or on the baseline's;
 * - a model with no ready replica hands its requests to the type's baseline (counted as fallbacks);
 * - the allocation follows the registry within about a second, and the last one known keeps serving
 *   while the registry cannot be read.
 *
 * node:http without a framework, and the body forwarded as received: only the unit id is read from
 * it (the `x-modelfleet-unit` header first, else `user.id` by a byte scan), so the router adds little
 * to a request's latency.
 */

/** Largest `POST /rank/{type}` body. */
export const MAX_RANK_BODY_BYTES = 1024 * 1024;

/** Error codes of the router's own answers, and their statuses. */
export const RouterError = {
  not_found: 404,
  method_not_allowed: 405,
  payload_too_large: 413,
  internal: 500,
  bad_gateway: 502,
  unavailable: 503,
  timeout: 504,
} as const;
export type RouterErrorCode = keyof typeof RouterError;

/** The header that names the unit (user, session) an arm is picked for; `user.id` of the body otherwise. */
export const UNIT_HEADER = 'x-modelfleet-unit';

export interface RouterOptions {
  allocations: AllocationSource;
  replicas: ReplicaDirectory;
  /** Per-model counts and latencies for launch gates and demand; the router flushes and closes it. */
  traffic?: RouterTraffic | null;
  /** Samples of requests stored as recordings; the router closes it. */
  sampler?: TrafficSampler | null;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: any free port. */
  port?: number;
  /** How often the allocations are read from their source. Default 500 ms. */
  refreshMs?: number;
  maxBodyBytes?: number;
  balancer?: Partial<ReplicaBalancerOptions>;
  metrics?: RouterMetrics;
  /** Where unexpected errors are reported (default: stderr). */
  log?: (line: string) => void;
}

/** How long close() lets requests in flight finish before it cuts their connections. */
const CLOSE_GRACE_MS = 5000;
/** Pools of replicas unused this long are closed. */
const IDLE_REPLICA_MS = 5 * 60_000;
/** Unknown type names remembered per allocation version, at most. */
const MAX_TYPE_LOOKUPS = 10_000;

const errorBody = (code: RouterErrorCode, message: string) => JSON.stringify({ error: { code, message, details: [] } });

function sendError(res: ServerResponse, code: RouterErrorCode, message: string, extra: Record<string, string> = {}): void {
  const body = errorBody(code, message);
  res.writeHead(RouterError[code], { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...extra });
  res.end(body);
}

/**
 * Headers of a routed answer: the model that answered (or was last tried, on an error), the role of
 * the unit's arm, and, when the baseline stood in for the arm's model, that model.
 */
function routedHeaders(modelId: string, arm: Arm, fellBack: boolean): Record<string, string> {
  const headers: Record<string, string> = { 'x-modelfleet-model': modelId, 'x-modelfleet-arm': arm.role };
  if (fellBack) headers['x-modelfleet-assigned'] = arm.modelId;
  return headers;
}

/** The model type of `/rank/{type}[?query]`; null when the path is not a rank path or does not decode. */
function rankType(url: string): string | null {
  const query = url.indexOf('?');
  const raw = url.slice(6, query < 0 ? url.length : query);
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return null;
  }
}

/** A running router. */
export class Router {
  readonly metrics: RouterMetrics;
  private readonly balancer: ReplicaBalancer;
  private readonly log: (line: string) => void;
  private readonly maxBodyBytes: number;
  private table: AllocationTable = { version: -1, allocations: new Map() };
  private typeLookups = new Map<string, boolean>();
  private refreshing: Promise<void> | null = null;
  private timers: NodeJS.Timeout[] = [];
  private closing: Promise<void> | null = null;
  private server!: Server;
  url = '';
  port = 0;

  private constructor(private readonly options: RouterOptions) {
    this.metrics = options.metrics ?? new RouterMetrics();
    this.balancer = new ReplicaBalancer(options.balancer);
    this.log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.maxBodyBytes = options.maxBodyBytes ?? MAX_RANK_BODY_BYTES;
  }

  /** Reads the allocations, then listens; resolves once requests can be routed. */
  static async start(options: RouterOptions): Promise<Router> {
    const router = new Router(options);
    await router.refresh();
    const host = options.host ?? '127.0.0.1';
    const port = options.port ?? 0;
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw invalidInput(`port must be a port number (0-65535; 0 for any free port), not ${port}`);
    const server = createServer((req, res) => router.handle(req, res));
    // Longer than the 60 s idle timeout of common load balancers, as the model server does.
    server.keepAliveTimeout = 65_000;
    server.headersTimeout = 66_000;
    await new Promise<void>((resolve, reject) => {
      const fail = (error: NodeJS.ErrnoException) =>
        reject(error.code === 'EADDRINUSE' ? invalidInput(`port ${port} on ${host} is in use: pass --port with a free one (or 0 for any)`) : error);
      server.once('error', fail);
      server.listen(port, host, () => {
        server.off('error', fail);
        resolve();
      });
    });
    router.server = server;
    router.port = (server.address() as AddressInfo).port;
    router.url = urlOf(host, router.port);
    const every = (ms: number, task: () => void) => {
      const timer = setInterval(task, ms);
      timer.unref();
      router.timers.push(timer);
    };
    every(options.refreshMs ?? 500, () => void router.refresh().catch(() => {}));
    every(60_000, () => router.balancer.sweep(IDLE_REPLICA_MS));
    options.traffic?.start();
    options.sampler?.start();
    return router;
  }

  /** Model types with an allocation now. */
  allocationCount(): number {
    return this.table.allocations.size;
  }

  /** The allocation requests of a type follow now; undefined for a type without one. */
  allocation(modelType: string): Allocation | undefined {
    return this.table.allocations.get(modelType);
  }

  /**
   * Reads the allocations from their source now (the router also does every `refreshMs`). A failed
   * read keeps the last allocations serving and is logged; it rejects only before the first success.
   */
  refresh(): Promise<void> {
    return (this.refreshing ??= this.options.allocations
      .current()
      .then(
        (table) => {
          if (table.version !== this.table.version) this.typeLookups = new Map();
          this.table = table;
        },
        (error: Error) => {
          this.log(`router: could not read the allocations (serving the last ones): ${error.message}`);
          if (this.table.version === -1) throw error;
        },
      )
      .finally(() => {
        this.refreshing = null;
      }));
  }

  /** Stops accepting, lets requests in flight finish, then writes the traffic and samples still held. */
  close(): Promise<void> {
    return (this.closing ??= (async () => {
      for (const timer of this.timers) clearInterval(timer);
      if (this.server) {
        await new Promise<void>((resolve) => {
          const force = setTimeout(() => this.server.closeAllConnections(), CLOSE_GRACE_MS);
          force.unref();
          this.server.close(() => {
            clearTimeout(force);
            resolve();
          });
          this.server.closeIdleConnections();
        });
      }
      await this.refreshing?.catch(() => {});
      await Promise.all([this.options.traffic?.close(), this.options.sampler?.close()]);
      await this.balancer.close();
    })());
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    const url = req.url ?? '/';
    if (url.startsWith('/rank/')) {
      const modelType = rankType(url);
      if (req.method !== 'POST') {
        req.resume();
        this.count(UNKNOWN_TYPE, '', 'rejected', started);
        return sendError(res, 'method_not_allowed', `${url} takes POST with a predict request, not ${req.method}`, { allow: 'POST' });
      }
      if (modelType === null) {
        req.resume();
        this.count(UNKNOWN_TYPE, '', 'unknown_type', started);
        return sendError(res, 'not_found', `${url} does not name a model type: POST /rank/{modelType}, e.g. /rank/ig_feed_main_mtml`);
      }
      return this.readBody(req, res, modelType, started);
    }
    req.resume();
    const path = url.indexOf('?') < 0 ? url : url.slice(0, url.indexOf('?'));
    if (req.method === 'GET' && path === '/healthz') {
      const body = JSON.stringify({ status: 'ok', modelTypes: this.table.allocations.size, allocationVersion: this.table.version, pid: process.pid });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    if (req.method === 'GET' && path === '/metrics') {
      this.metrics.text().then(
        ({ contentType, text }) => {
          res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
          res.end(text);
        },
        (error: Error) => sendError(res, 'unavailable', `metrics are unavailable: ${error.message}`),
      );
      return;
    }
    sendError(res, 'not_found', `no route ${req.method} ${url}: the router answers POST /rank/{modelType}, GET /healthz and GET /metrics`);
  }

  private readBody(req: IncomingMessage, res: ServerResponse, modelType: string, started: number): void {
    const max = this.maxBodyBytes;
    readBoundedBody(
      req,
      max,
      (body) =>
        this.route(req, res, modelType, body, started).catch((error: Error) => {
          this.log(`router: routing a request of ${modelType} failed: ${error?.stack ?? error}`);
          if (!res.headersSent) sendError(res, 'internal', 'internal error in the router; its log has the details');
          else res.destroy();
        }),
      (declared) => {
        this.count(this.typeLabel(modelType), '', 'rejected', started);
        const size = declared === null ? `more than ${max}` : String(declared);
        sendError(res, 'payload_too_large', `the body is ${size} bytes; the router takes at most ${max} (${max / 1024 / 1024} MiB): send fewer candidates per request`, { connection: 'close' });
      },
    );
    req.on('error', () => res.destroy());
  }

  private typeLabel(modelType: string): string {
    return this.table.allocations.has(modelType) ? modelType : UNKNOWN_TYPE;
  }

  private count(modelType: string, modelId: string, outcome: RouterOutcome, started: number): void {
    this.metrics.request(modelType, modelId, outcome, (performance.now() - started) / 1000);
  }

  private armFor(allocation: Allocation, req: IncomingMessage, body: Buffer): Arm | null {
    const header = req.headers[UNIT_HEADER];
    if (typeof header === 'string' && header) return pickArm(allocation, header);
    const unit = unitIdFromBody(body);
    // A request without a unit id still lands in proportion to the shares, just not sticky.
    return unit ? pickArm(allocation, unit) : armAt(allocation, Math.random());
  }

  private async route(req: IncomingMessage, res: ServerResponse, modelType: string, body: Buffer, started: number): Promise<void> {
    const allocation = this.table.allocations.get(modelType);
    if (!allocation) return this.withoutAllocation(res, modelType, started);
    const arm = this.armFor(allocation, req, body);
    if (!arm) {
      this.count(modelType, '', 'no_model', started);
      return sendError(res, 'unavailable', `model type ${modelType} has no live model taking traffic: give one of its models the baseline role, or a traffic share, in the registry`);
    }
    const baseline = allocation.baselineId;
    let modelId = arm.modelId;
    let endpoints = this.options.replicas.endpoints(modelId);
    let fellBack = false;
    if (!endpoints.length && baseline && baseline !== modelId) {
      fellBack = true;
      this.metrics.fallback(modelType, arm.modelId);
      modelId = baseline;
      endpoints = this.options.replicas.endpoints(modelId);
    }
    if (!endpoints.length) {
      this.finish(modelType, modelId, 'no_replica', started, true);
      const also = fellBack ? `, nor has the baseline ${modelId}` : '';
      return sendError(res, 'unavailable', `model ${arm.modelId} (${arm.role} of ${modelType}) has no ready replica${also}: start its replicas, or check the executor running them`, routedHeaders(modelId, arm, fellBack));
    }
    const sampled = this.options.sampler?.shouldSample() ?? false;
    let endpoint = this.balancer.choose(endpoints)!;
    let answer: ReplicaAnswer;
    try {
      answer = await this.balancer.send(endpoint, '/predict', body);
    } catch (error) {
      if (classifyFailure(error) !== 'connection') return this.failed(res, modelType, modelId, arm, fellBack, endpoint, error, started);
      // Retry once: another replica of the same model, else the baseline's, else the same replica (a
      // reset on a reused keep-alive connection says little about the replica itself).
      this.metrics.retry(modelType, modelId);
      let next = this.balancer.choose(this.options.replicas.endpoints(modelId), endpoint);
      if (!next && baseline && baseline !== modelId) {
        next = this.balancer.choose(this.options.replicas.endpoints(baseline));
        if (next) {
          if (!fellBack) this.metrics.fallback(modelType, arm.modelId);
          fellBack = true;
          modelId = baseline;
        }
      }
      endpoint = next ?? endpoint;
      try {
        answer = await this.balancer.send(endpoint, '/predict', body);
      } catch (second) {
        return this.failed(res, modelType, modelId, arm, fellBack, endpoint, second, started);
      }
    }
    const ok = answer.status >= 200 && answer.status < 300;
    const headers = routedHeaders(modelId, arm, fellBack);
    headers['content-type'] = answer.contentType ?? 'application/json';
    headers['content-length'] = String(answer.body.length);
    res.writeHead(answer.status, headers);
    res.end(answer.body);
    this.finish(modelType, modelId, ok ? 'ok' : answer.status < 500 ? 'replica_4xx' : 'replica_5xx', started, !ok);
    if (sampled && ok) this.options.sampler!.add(modelType, body);
  }

  private finish(modelType: string, modelId: string, outcome: RouterOutcome, started: number, error: boolean): void {
    const ms = performance.now() - started;
    this.metrics.request(modelType, modelId, outcome, ms / 1000);
    this.options.traffic?.record(modelId, modelType, ms, error);
  }

  private failed(res: ServerResponse, modelType: string, modelId: string, arm: Arm, fellBack: boolean, endpoint: string, error: unknown, started: number): void {
    const kind = classifyFailure(error);
    const reason = (error as Error)?.message ?? String(error);
    const headers = routedHeaders(modelId, arm, fellBack);
    if (kind === 'timeout') {
      this.finish(modelType, modelId, 'timeout', started, true);
      return sendError(res, 'timeout', `replica ${endpoint} of ${modelId} did not answer in time (${reason}); the request was not sent again, as the replica may still be working on it`, headers);
    }
    this.finish(modelType, modelId, 'unreachable', started, true);
    sendError(res, 'bad_gateway', `no replica of ${modelId} could answer: ${endpoint} failed with ${(error as { code?: string })?.code ?? 'an error'} (${reason})${kind === 'connection' ? ' after one retry' : ''}`, headers);
  }

  private async withoutAllocation(res: ServerResponse, modelType: string, started: number): Promise<void> {
    let exists = this.typeLookups.get(modelType);
    if (exists === undefined) {
      try {
        exists = await this.options.allocations.typeExists(modelType);
      } catch (error) {
        this.count(UNKNOWN_TYPE, '', 'unknown_type', started);
        return sendError(res, 'unavailable', `could not check whether model type '${modelType}' exists (${(error as Error).message}); try again`);
      }
      if (this.typeLookups.size >= MAX_TYPE_LOOKUPS) this.typeLookups.clear();
      this.typeLookups.set(modelType, exists);
    }
    if (exists) {
      this.count(modelType, '', 'no_model', started);
      return sendError(res, 'unavailable', `model type ${modelType} has no live model: register a baseline for it (role baseline) to serve its traffic`);
    }
    this.count(UNKNOWN_TYPE, '', 'unknown_type', started);
    sendError(res, 'not_found', `no model type '${modelType}' in the registry: POST /rank/{modelType} takes a registered type name (list them with GET /api/v1/model-types)`);
  }
}
