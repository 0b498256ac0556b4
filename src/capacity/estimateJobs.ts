import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { z } from 'zod';
import { conflict, invalidInput, notFound } from '../core/errors.js';
import { parseOrThrow } from '../core/zodIssues.js';
import { assertCanWriteOwned } from '../registry/access.js';
import type { Actor } from '../registry/actor.js';
import type { ChangeRecord } from '../registry/change.js';
import type { Model } from '../registry/model.js';
import type { Clock, RegistryService } from '../registry/registryService.js';
import { checkEstimateOptions, estimateCapacity, type CapacityEstimate, type EstimateOptions } from './estimateCapacity.js';
import type { RecordingService } from './recordingService.js';

/** What `POST /models/{id}/capacity/estimate` takes. */
export const EstimateRequestSchema = z
  .object({
    target: z.url({ protocol: /^https?$/, error: 'target is the http:// or https:// URL of one replica of the model, e.g. http://10.0.0.5:9000' }),
    recordingId: z.string().min(1).describe("a recording of the model's type (GET /model-types/{name}/recordings)"),
    p99Ms: z.number().positive().describe('stopper: p99 latency at most this, in ms'),
    maxErrorRate: z.number().min(0).lt(1).describe('stopper: error rate at most this, e.g. 0.001'),
    p50Ms: z.number().positive().optional(),
    tolerance: z.number().gt(0).max(0.5).default(0.05),
    stepDurationMs: z.number().int().min(200).max(600_000).default(5000),
    warmupMs: z.number().int().min(0).max(60_000).default(1000).describe('load before each measured step, not counted'),
    maxQps: z.number().positive().optional(),
    unitCost: z.number().nonnegative().optional().describe("cost of one replica, recorded with the capacity; default the model's current one, else 0"),
    write: z.boolean().default(true).describe("write the result to the model's capacity profile when it converges"),
  })
  .strict();
export type EstimateRequest = z.output<typeof EstimateRequestSchema>;

export const EstimateJobStatus = ['running', 'succeeded', 'failed'] as const;
export type EstimateJobStatus = (typeof EstimateJobStatus)[number];

export interface EstimateJob {
  id: string;
  model: string;
  status: EstimateJobStatus;
  requestedBy: string;
  createdAt: string;
  finishedAt: string | null;
  request: EstimateRequest;
  /** The latest step while running. */
  progress: { step: number; phase: string; offeredQps: number; good: number | null; bad: number | null } | null;
  result: CapacityEstimate | null;
  error: string | null;
  /** The registry change that recorded the capacity, when written. */
  change: ChangeRecord | null;
}

/** Estimate runs' port to storage. */
export interface EstimateJobStore {
  put(job: EstimateJob): Promise<void>;
  get(id: string): Promise<EstimateJob | null>;
  listOfModel(model: string, limit: number): Promise<EstimateJob[]>;
  /** Marks runs left `running` by a stopped server as failed; returns how many. */
  failRunning(reason: string, at: string): Promise<number>;
}

type Runner = (options: EstimateOptions) => Promise<CapacityEstimate>;

/**
 * Capacity estimates run by the server for the API: started, tracked and stored, and on convergence
 * written to the model's capacity profile with their provenance. The server sends load to the given
 * target, so only the owning team's members and admins may start one.
 */
export class CapacityEstimateJobs {
  private readonly running = new Map<string, Promise<void>>();

  constructor(
    private readonly store: EstimateJobStore,
    private readonly recordings: RecordingService,
    private readonly registry: RegistryService,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly run: Runner = estimateCapacity,
  ) {}

  /** Called once at start: a run cannot survive its server. */
  async recover(): Promise<void> {
    const failed = await this.store.failRunning('the server stopped while the estimate ran: start it again', this.clock.now().toISOString());
    if (failed) this.logger.warn({ failed }, 'capacity estimates interrupted by a restart were marked failed');
  }

  async start(actor: Actor, modelId: string, input: unknown): Promise<EstimateJob> {
    const request = parseOrThrow(EstimateRequestSchema, input, 'the request body');
    const model = await this.registry.getModel(modelId);
    const type = await this.registry.getModelType(model.modelType);
    assertCanWriteOwned(actor, `model '${modelId}'`, type.ownerTeam, type.ownerTeam);
    const { info, requests } = await this.recordings.requests(request.recordingId);
    if (info.modelType !== model.modelType) {
      throw conflict(`recording ${info.name} (${info.id}) is of model type ${info.modelType}, not ${model.modelType}: replay traffic recorded for this model's type`);
    }
    const options: EstimateOptions = {
      target: request.target,
      requests,
      trafficFile: `recording ${info.name} (${info.id})`,
      stoppers: { p99Ms: request.p99Ms, maxErrorRate: request.maxErrorRate, ...(request.p50Ms ? { p50Ms: request.p50Ms } : {}) },
      search: { tolerance: request.tolerance, ...(request.maxQps ? { maxQps: request.maxQps } : {}) },
      stepDurationMs: request.stepDurationMs,
      warmupMs: request.warmupMs,
      cooldownMs: Math.min(1000, request.warmupMs),
    };
    checkEstimateOptions(options);
    for (const job of await this.store.listOfModel(modelId, 10)) {
      if (job.status === 'running' && this.running.has(job.id)) throw conflict(`an estimate of ${modelId} is already running (${job.id}): wait for it, two would measure each other's load`);
    }
    const job: EstimateJob = {
      id: randomUUID(),
      model: modelId,
      status: 'running',
      requestedBy: actor.name,
      createdAt: this.clock.now().toISOString(),
      finishedAt: null,
      request,
      progress: null,
      result: null,
      error: null,
      change: null,
    };
    await this.store.put(job);
    const done = this.execute(actor, job, model, options, info.name).finally(() => this.running.delete(job.id));
    this.running.set(job.id, done);
    return job;
  }

  async get(id: string): Promise<EstimateJob> {
    const job = await this.store.get(id);
    if (!job) throw notFound(`capacity estimate '${id}' does not exist`);
    return job;
  }

  async list(modelId: string): Promise<EstimateJob[]> {
    await this.registry.getModel(modelId);
    return this.store.listOfModel(modelId, 50);
  }

  /** Resolves when every running estimate has finished (for shutdown and tests). */
  async idle(): Promise<void> {
    await Promise.all(this.running.values());
  }

  private async execute(actor: Actor, job: EstimateJob, model: Model, options: EstimateOptions, recordingName: string): Promise<void> {
    let lastSaved = 0;
    try {
      const result = await this.run({
        ...options,
        onProgress: (event) => {
          if (event.type !== 'step') return;
          job.progress = { step: event.index, phase: event.phase, offeredQps: event.offeredQps, good: event.good, bad: event.bad };
          // Progress is for people watching; a write every couple of seconds is plenty.
          if (Date.now() - lastSaved > 2000) {
            lastSaved = Date.now();
            void this.store.put({ ...job }).catch(() => {});
          }
        },
      });
      job.result = result;
      job.status = 'succeeded';
      if (job.request.write && result.maxQps !== null && (result.converged || result.verdict === 'max_qps_reached')) {
        job.change = await this.record(actor, model, job, result, recordingName);
      }
    } catch (error) {
      job.status = 'failed';
      job.error = (error as Error).message;
      this.logger.warn({ estimate: job.id, model: job.model, err: job.error }, 'capacity estimate failed');
    }
    job.finishedAt = this.clock.now().toISOString();
    await this.store.put(job);
  }

  private async record(actor: Actor, model: Model, job: EstimateJob, result: CapacityEstimate, recordingName: string): Promise<ChangeRecord | null> {
    const current = (await this.registry.getModel(model.id)).capacity;
    const capacity = {
      maxQpsPerReplica: result.maxQps!,
      replicas: current?.replicas ?? 0,
      unitCost: job.request.unitCost ?? current?.unitCost ?? 0,
      estimate: {
        maxQps: result.maxQps!,
        verdict: result.verdict,
        measuredAt: job.finishedAt ?? this.clock.now().toISOString(),
        target: result.target,
        recording: `${recordingName} (${job.request.recordingId})`,
        requests: result.traffic.requests,
        stoppers: Object.fromEntries(Object.entries(result.stoppers).filter(([, v]) => typeof v === 'number')) as Record<string, number>,
        steps: result.steps.length,
        durationMs: Math.round(result.durationMs),
      },
    };
    try {
      const outcome = await this.registry.execute(actor, [{ action: 'patch', kind: 'model', key: model.id, mergePatch: { capacity } }], {
        reason: `capacity measured: ${result.maxQps} QPS per replica (${result.verdict}) replaying ${recordingName}, estimate ${job.id}`,
      });
      return outcome.changes[0] ?? null;
    } catch (error) {
      throw invalidInput(`the estimate finished (${result.maxQps} QPS) but could not be written to ${model.id}: ${(error as Error).message}`);
    }
  }
}
