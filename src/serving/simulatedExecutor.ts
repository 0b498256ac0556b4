import { invalidInput } from '../core/errors.js';
import type { Clock } from '../registry/registryService.js';
import type { DeploymentSpec, DeploymentStatus, Executor, ReplicaDirectory } from './executor.js';
import { servingOutcome } from './simulatedWorld.js';
import type { ModelTraffic, TrafficStats } from './trafficStats.js';

export interface SimulatedExecutorOptions {
  /** The simulated time: replicas become ready on it, and traffic windows are read on it. */
  clock: Clock;
  /** How long a replica takes from asked for to ready. Default 30 s. */
  startupMs?: number;
  /** Requests per second a model type receives at a time (all its models together). */
  demandQps(modelType: string, atMs: number): number;
  /** The share of its type's traffic a model takes (the registry's traffic share). */
  trafficShare(modelId: string, atMs: number): number;
  /** Requests per second one replica of the model serves. */
  capacityQps(modelId: string): number;
  /** Share of requests the model fails by itself, to simulate a bad candidate. Default none. */
  faultErrorRate?(modelId: string): number;
  /** How long the traffic history of removed replicas is kept for windows. Default 7 days. */
  historyMs?: number;
}

/** One replica's life on the simulated clock: it serves over [readyAt, endAt). */
interface SimulatedReplica {
  id: string;
  askedAt: number;
  readyAt: number;
  /** When it was scaled down or removed; null while it runs. */
  endAt: number | null;
}

interface SimulatedModel {
  modelId: string;
  modelType: string;
  /** Every replica it had within the history, oldest first; the running ones have no end. */
  replicas: SimulatedReplica[];
  /** False after remove(): the model has no deployment, but its history still answers windows. */
  deployed: boolean;
  nextReplica: number;
}

const MINUTE_MS = 60_000;
/** The slowest share of requests the p99 stands for. */
const TAIL_SHARE = 0.01;

/**
 * A fleet without processes, on a clock: replicas become ready `startupMs` after they are asked
 * for, and the traffic each model serves is computed from its type's demand, its traffic share, its
 * ready replicas and their capacity, segment by segment over the window (replicas come and go
 * inside it). A manual clock runs hundreds of launches in seconds, with the same results every run.
 * Nothing is persisted: a restarted server starts with an empty simulated fleet.
 */
export class SimulatedExecutor implements Executor, ReplicaDirectory, TrafficStats {
  readonly kind = 'simulated' as const;
  private readonly options: SimulatedExecutorOptions;
  private readonly startupMs: number;
  private readonly historyMs: number;
  private readonly models = new Map<string, SimulatedModel>();

  constructor(options: SimulatedExecutorOptions) {
    this.options = options;
    this.startupMs = options.startupMs ?? 30_000;
    this.historyMs = options.historyMs ?? 7 * 24 * 3600_000;
  }

  // ---------------------------------------------------------------------------------------------
  // Executor

  async apply(spec: DeploymentSpec): Promise<DeploymentStatus> {
    if (!Number.isInteger(spec.replicas) || spec.replicas < 0) {
      throw invalidInput(`replicas of ${spec.modelId} must be a whole number, 0 or more, not ${spec.replicas}`, [{ path: 'replicas', message: 'a whole number of replicas' }]);
    }
    const now = this.now();
    let model = this.models.get(spec.modelId);
    if (!model) {
      model = { modelId: spec.modelId, modelType: spec.modelType, replicas: [], deployed: true, nextReplica: 1 };
      this.models.set(spec.modelId, model);
    }
    model.deployed = true;
    this.prune(model, now);
    const running = model.replicas.filter((r) => r.endAt === null);
    for (let n = running.length; n < spec.replicas; n++) {
      model.replicas.push({ id: `r${model.nextReplica++}`, askedAt: now, readyAt: now + this.startupMs, endAt: null });
    }
    // Newest first, as the local executor does: the replicas that have served longest stay.
    for (const replica of running.slice(spec.replicas).reverse()) replica.endAt = now;
    return this.statusOf(model, now);
  }

  async status(modelId: string): Promise<DeploymentStatus | null> {
    const model = this.models.get(modelId);
    return model?.deployed ? this.statusOf(model, this.now()) : null;
  }

  async remove(modelId: string): Promise<void> {
    const model = this.models.get(modelId);
    if (!model?.deployed) return;
    const now = this.now();
    for (const replica of model.replicas) if (replica.endAt === null) replica.endAt = now;
    model.deployed = false;
  }

  async list(): Promise<DeploymentStatus[]> {
    const now = this.now();
    return [...this.models.values()].filter((m) => m.deployed).map((m) => this.statusOf(m, now)).sort((a, b) => a.modelId.localeCompare(b.modelId));
  }

  /** Nothing to adopt: the simulated fleet lives in memory only. */
  async recover(): Promise<void> {}

  async close(): Promise<void> {
    this.models.clear();
  }

  // ---------------------------------------------------------------------------------------------
  // ReplicaDirectory

  /** `sim://MODEL/REPLICA` for each ready replica: names, not addresses (no router sends to them). */
  endpoints(modelId: string): readonly string[] {
    const model = this.models.get(modelId);
    if (!model?.deployed) return [];
    const now = this.now();
    return model.replicas.filter((r) => serves(r, now)).map((r) => `sim://${modelId}/${r.id}`);
  }

  // ---------------------------------------------------------------------------------------------
  // TrafficStats

  /**
   * The model's traffic over [fromMs, toMs): the window is cut at every minute and at every moment
   * a replica became ready or left; in each piece the load is its type's demand x its share, served
   * by the replicas ready then. The median is the request-weighted mean of the pieces' medians; the
   * p99 is that of the slowest pieces that together carry 1% of the requests.
   */
  async window(modelId: string, fromMs: number, toMs: number): Promise<ModelTraffic> {
    const model = this.models.get(modelId);
    const modelType = model?.modelType ?? typeOfModelId(modelId);
    const replicas = model?.replicas ?? [];
    const cuts = new Set<number>([fromMs, toMs]);
    for (let t = Math.ceil(fromMs / MINUTE_MS) * MINUTE_MS; t < toMs; t += MINUTE_MS) cuts.add(t);
    for (const r of replicas) for (const t of [r.readyAt, r.endAt]) if (t !== null && t > fromMs && t < toMs) cuts.add(t);
    const points = [...cuts].filter((t) => t >= fromMs && t <= toMs).sort((a, b) => a - b);

    const capacityQps = this.options.capacityQps(modelId);
    const faultErrorRate = this.options.faultErrorRate?.(modelId) ?? 0;
    const pieces: Array<{ requests: number; errors: number; p50Ms: number; p99Ms: number }> = [];
    for (let i = 0; i + 1 < points.length; i++) {
      const start = points[i]!;
      const seconds = (points[i + 1]! - start) / 1000;
      const loadQps = Math.max(0, this.options.demandQps(modelType, start)) * Math.max(0, this.options.trafficShare(modelId, start));
      if (loadQps <= 0 || seconds <= 0) continue;
      const readyReplicas = replicas.filter((r) => serves(r, start)).length;
      const outcome = servingOutcome({ loadQps, readyReplicas, capacityQps, faultErrorRate });
      const requests = loadQps * seconds;
      pieces.push({ requests, errors: requests * outcome.errorShare, p50Ms: outcome.p50Ms, p99Ms: outcome.p99Ms });
    }

    const exactRequests = pieces.reduce((sum, p) => sum + p.requests, 0);
    const requests = Math.round(exactRequests);
    const errors = Math.min(requests, Math.round(pieces.reduce((sum, p) => sum + p.errors, 0)));
    const seconds = Math.max(0, toMs - fromMs) / 1000;
    const latency =
      requests > 0
        ? {
            p50Ms: round3(pieces.reduce((sum, p) => sum + p.p50Ms * p.requests, 0) / exactRequests),
            p99Ms: round3(tailLatency(pieces, exactRequests)),
          }
        : { p50Ms: null, p99Ms: null };
    return { modelId, fromMs, toMs, requests, errors, errorRate: requests > 0 ? errors / requests : 0, qps: seconds > 0 ? requests / seconds : 0, ...latency };
  }

  /** The type's demand: the highest of its per-minute rates over the window; null with none. */
  async peakQps(modelType: string, fromMs: number, toMs: number): Promise<number | null> {
    let peak = 0;
    for (let t = Math.floor(fromMs / MINUTE_MS) * MINUTE_MS; t < toMs; t += MINUTE_MS) peak = Math.max(peak, this.options.demandQps(modelType, Math.max(t, fromMs)));
    return peak > 0 ? peak : null;
  }

  // ---------------------------------------------------------------------------------------------

  private now(): number {
    return this.options.clock.now().getTime();
  }

  private statusOf(model: SimulatedModel, now: number): DeploymentStatus {
    const running = model.replicas.filter((r) => r.endAt === null);
    const endpoints = running.filter((r) => serves(r, now)).map((r) => `sim://${model.modelId}/${r.id}`);
    return { modelId: model.modelId, modelType: model.modelType, desired: running.length, ready: endpoints.length, endpoints };
  }

  /** Forgets replicas that ended before the history horizon, so months of simulated launches stay small. */
  private prune(model: SimulatedModel, now: number): void {
    model.replicas = model.replicas.filter((r) => r.endAt === null || r.endAt > now - this.historyMs);
  }
}

/** Walks the pieces from the slowest p99 down until they hold 1% of the requests: a short slow spell counts in proportion to its traffic. */
function tailLatency(pieces: Array<{ requests: number; p99Ms: number }>, total: number): number {
  const slowestFirst = [...pieces].sort((a, b) => b.p99Ms - a.p99Ms);
  let covered = 0;
  for (const piece of slowestFirst) {
    covered += piece.requests;
    if (covered >= total * TAIL_SHARE) return piece.p99Ms;
  }
  return slowestFirst.at(-1)?.p99Ms ?? 0;
}

/** Whether a replica serves at `t`: ready by then and not yet gone. */
const serves = (r: SimulatedReplica, t: number) => r.readyAt <= t && (r.endAt === null || r.endAt > t);

/** A model id is `<type>:<version>`: the type of a model this executor never ran (its traffic then fails). */
const typeOfModelId = (modelId: string) => (modelId.includes(':') ? modelId.slice(0, modelId.lastIndexOf(':')) : modelId);

const round3 = (n: number) => Math.round(n * 1000) / 1000;
