import type { Logger } from 'pino';
import type { CapacityEstimateJobs } from '../capacity/estimateJobs.js';
import type { Launch } from '../launch/launch.js';
import { isTerminal } from '../launch/launchPhase.js';
import type { LaunchService } from '../launch/launchService.js';
import { systemActor } from '../registry/actor.js';
import type { Model } from '../registry/model.js';
import type { RegistryService } from '../registry/registryService.js';

export interface DemoLaunchesOptions {
  /** Launches kept in flight on the simulated fleet (besides one waiting for approval). */
  inFlight?: number;
  /** Seconds each step bakes before its gates are read: short, so a launch is watched end to end in minutes. */
  bakeSeconds?: number;
  everyMs?: number;
}

export interface MeasuredCandidate {
  model: string;
  target: string;
  recordingId: string;
}

const HIGH_TIERS = new Set(['TIER0', 'TIER1']);

/**
 * The demo's launches: candidates of the synthetic fleet launched on the simulated executor, so the
 * console always has launches moving. A few run on their own (within their team's quota), one of a
 * TIER1 type waits for a person's approval, and the candidate served for real is measured by a real
 * capacity estimate first, then launched with that curve behind it.
 */
export class DemoLaunches {
  private timer: NodeJS.Timeout | null = null;
  private readonly tried = new Set<string>();
  private measured: MeasuredCandidate | null = null;
  private busy = false;
  readonly started: Launch[] = [];

  constructor(
    private readonly deps: { registry: RegistryService; launches: LaunchService; estimates: CapacityEstimateJobs; logger: Logger },
    private readonly options: DemoLaunchesOptions = {},
  ) {}

  /** Starts the first launches now, then keeps `inFlight` running. */
  async start(measured: MeasuredCandidate | null): Promise<void> {
    this.measured = measured;
    if (measured) this.tried.add(measured.model);
    await this.topUp();
    if (measured) void this.measureThenLaunch(measured);
    this.timer = setInterval(() => void this.topUp(), this.options.everyMs ?? 15_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async topUp(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const active = await this.deps.launches.list({ active: true, limit: 1000 });
      const busyTypes = new Set(active.map((l) => l.modelType));
      if (this.measured) busyTypes.add(this.measured.model.split(':')[0]!);
      const running = active.filter((l) => l.phase !== 'awaiting_approval').length;
      const waiting = active.filter((l) => l.phase === 'awaiting_approval').length;
      const candidates = await this.candidates(busyTypes);
      if (!waiting) await this.launchFirst(candidates.filter((c) => HIGH_TIERS.has(c.tier)), 1);
      await this.launchFirst(candidates.filter((c) => !HIGH_TIERS.has(c.tier)), (this.options.inFlight ?? 2) - running);
    } catch (error) {
      this.deps.logger.warn({ err: error }, 'demo launches: could not start one');
    } finally {
      this.busy = false;
    }
  }

  /** Candidates with a capacity profile whose type has a baseline and no launch, not tried before. */
  private async candidates(busyTypes: ReadonlySet<string>): Promise<Array<{ model: Model; tier: string }>> {
    const { items } = await this.deps.registry.listModels({ role: 'candidate', limit: 1000 });
    const out: Array<{ model: Model; tier: string }> = [];
    for (const model of items) {
      if (!model.capacity || this.tried.has(model.id) || busyTypes.has(model.modelType)) continue;
      const type = await this.deps.registry.getModelType(model.modelType);
      if (type.baselineModelId) out.push({ model, tier: type.criticality });
    }
    return out;
  }

  private async launchFirst(candidates: ReadonlyArray<{ model: Model }>, count: number): Promise<void> {
    let left = count;
    for (const { model } of candidates) {
      if (left <= 0) return;
      this.tried.add(model.id);
      const launch = await this.launch(model.id, 'a demo launch: the simulated fleet moves traffic step by step');
      // Refused for quota (or estimated to fail): try the next candidate.
      if (launch && !isTerminal(launch.phase)) left -= 1;
    }
  }

  private async launch(candidate: string, reason: string, peakQps?: number): Promise<Launch | null> {
    try {
      const launch = await this.deps.launches.start(systemActor, {
        modelType: candidate.split(':')[0],
        candidate,
        executor: 'simulated',
        ...(peakQps ? { peakQps } : {}),
        bakeSeconds: this.options.bakeSeconds ?? 20,
        expectedGain: '+0.4% sessions in the offline evaluation',
        reason,
      });
      this.started.push(launch);
      return launch;
    } catch (error) {
      this.deps.logger.debug({ err: error, candidate }, 'demo launch refused');
      return null;
    }
  }

  /** A real capacity estimate of the served candidate (short steps), then its launch. */
  private async measureThenLaunch(measured: MeasuredCandidate): Promise<void> {
    try {
      const job = await this.deps.estimates.start(systemActor, measured.model, {
        target: measured.target,
        recordingId: measured.recordingId,
        p99Ms: 100,
        maxErrorRate: 0.001,
        stepDurationMs: 1500,
        warmupMs: 300,
      });
      let current = job;
      while (current.status === 'running') {
        await new Promise((resolve) => setTimeout(resolve, 1000).unref());
        current = await this.deps.estimates.get(job.id);
      }
      if (current.status !== 'succeeded' || !current.result?.converged) {
        this.deps.logger.info({ job: job.id, error: current.error }, 'demo: the capacity estimate did not converge; its candidate is not launched');
        return;
      }
      // The reference model server is smaller than the fleet's synthetic sizing: a demand it can serve with a handful of replicas.
      await this.launch(measured.model, `measured at ${Math.round(current.result.maxQps ?? 0)} QPS per replica by a capacity estimate; launched on the simulated fleet`, 4 * (current.result.maxQps ?? 0));
    } catch (error) {
      this.deps.logger.warn({ err: error }, 'demo: measuring the served candidate failed');
    }
  }
}
