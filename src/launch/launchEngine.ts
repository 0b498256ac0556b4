import type { Logger } from 'pino';
import { estimateCost } from '../capacity/cost.js';
import type { Actor } from '../registry/actor.js';
import type { Model } from '../registry/model.js';
import type { RegistryOp } from '../registry/writePipeline.js';
import type { Clock, RegistryService } from '../registry/registryService.js';
import type { Executor, ExecutorKind } from '../serving/executor.js';
import type { TrafficStats } from '../serving/trafficStats.js';
import { decideApproval } from './approvalPolicy.js';
import type { LaunchPolicy } from '../registry/vocabulary.js';
import { servingSettingsOf } from '../registry/modelType.js';
import { evaluateGates, gatesPass } from './gates.js';
import { launchStateOf, type Launch } from './launch.js';
import { canMove, isTerminal, type LaunchPhase } from './launchPhase.js';
import type { LaunchEventInput, LaunchStore } from './launchStore.js';
import { planShift } from './shiftPlan.js';

/** What a launch runs on: an executor for replicas and the traffic it serves. */
export interface LaunchRuntime {
  executor: Executor;
  stats: TrafficStats;
  /**
   * Measures one replica's capacity when the candidate has no capacity profile yet (replaying the
   * type's recorded traffic against a replica). Without it such a candidate cannot launch.
   */
  measureCapacity?: (candidate: Model, stoppers: { p99Ms: number; maxErrorRate: number }) => Promise<{ maxQpsPerReplica: number; source: string }>;
}

/** The team's pool as the engine needs it; the quota service answers it. */
export interface PoolView {
  quota: number | null;
  free: number | null;
  policy: LaunchPolicy;
}

export interface LaunchEngineDeps {
  store: LaunchStore;
  registry: RegistryService;
  runtimes: Partial<Record<ExecutorKind, LaunchRuntime>>;
  /** The team's pool, leaving out what `launchId` itself reserves. */
  pool(team: string, launchId: string): Promise<PoolView>;
  /** The candidate's stability verdict now, or null when no labels flow for it. */
  stability(modelId: string): Promise<'stable' | 'unstable' | 'insufficient_data' | null>;
  clock: Clock;
  logger: Logger;
  /** How long replicas may take to become ready before the launch gives up on them. Default 120 s. */
  readyTimeoutMs?: number;
  /** Runs before the engine acts (e.g. refreshing what a simulated fleet reads of the registry). */
  beforeTick?: () => Promise<void>;
  /** How far back the router's traffic is read for the type's peak demand. Default 7 days. */
  demandLookbackMs?: number;
}

type Outcome = { next: Launch; event: LaunchEventInput | null; again: boolean };

const MAX_MOVES_PER_ADVANCE = 32;
/** Fewest candidate requests in a bake for the error and latency gates to judge it. */
const MIN_GATE_REQUESTS = 20;

/**
 * Drives launches through their lifecycle. Every move is written to the store (version-checked,
 * with its event) before the next one starts, and every action on an executor or the registry is
 * idempotent, so a launch resumes from its recorded phase and stage after a restart: the stage it
 * was in is simply done again.
 */
export class LaunchEngine {
  private readonly running = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly actor: Actor = { name: 'launch-engine', role: 'admin', team: null };

  constructor(private readonly deps: LaunchEngineDeps) {}

  /** Advances every unfinished launch every `intervalMs` until stopped. */
  start(intervalMs = 500): void {
    this.stopped = false;
    const loop = () => {
      if (this.stopped) return;
      this.tick()
        .catch((error: unknown) => this.deps.logger.error({ err: error }, 'launch engine tick failed'))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(loop, intervalMs);
        });
    };
    this.timer = setTimeout(loop, 0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.idle();
  }

  /** Waits until no launch is being advanced. */
  async idle(): Promise<void> {
    while (this.running.size) await Promise.allSettled([...this.running.values()]);
  }

  /** Advances each unfinished launch once, concurrently; a launch already being advanced is left alone. */
  async tick(): Promise<void> {
    await this.deps.beforeTick?.();
    const active = await this.deps.store.list({ active: true, limit: 10_000 });
    await Promise.allSettled(active.map((l) => this.advance(l.id, true)));
  }

  /** Advances one launch as far as it can go now (until it waits for time, readiness or a person); `refreshed`: the caller already ran `beforeTick`. */
  advance(id: string, refreshed = false): Promise<void> {
    const current = this.running.get(id);
    if (current) return current;
    const run = this.advanceNow(id, refreshed).finally(() => this.running.delete(id));
    this.running.set(id, run);
    return run;
  }

  /** Resolves once the launch is not being advanced (a move in progress has been written). */
  async settled(id: string): Promise<void> {
    await this.running.get(id)?.catch(() => {});
  }

  private async advanceNow(id: string, refreshed: boolean): Promise<void> {
    // A tick refreshes once for all its launches; a launch advanced on its own (just started or acted on) refreshes here.
    if (!refreshed) await this.deps.beforeTick?.();
    for (let moves = 0; moves < MAX_MOVES_PER_ADVANCE; moves++) {
      const launch = await this.deps.store.get(id);
      if (!launch || isTerminal(launch.phase) || launch.phase === 'paused' || launch.phase === 'awaiting_approval') return;
      let outcome: Outcome;
      try {
        outcome = await this.step(launch);
      } catch (error) {
        // An executor or registry failure fails the launch only when nothing can undo it; otherwise it is retried on the next tick.
        this.deps.logger.warn({ err: error, launch: id, phase: launch.phase, stage: launch.stage }, 'launch step failed; retrying on the next tick');
        return;
      }
      if (outcome.next === launch) return;
      const saved = await this.save(launch, outcome.next, outcome.event);
      if (!saved || !outcome.again) return;
    }
  }

  /** Writes a launch's next state; false when a person moved it first (the next tick sees their change). */
  async save(before: Launch, next: Launch, event: LaunchEventInput | null): Promise<boolean> {
    if (event && event.to !== before.phase && !canMove(before.phase, event.to)) throw new Error(`launch ${before.id}: ${before.phase} -> ${event.to} is not a transition of the lifecycle`);
    const now = this.deps.clock.now().toISOString();
    const final = { ...next, version: before.version + 1, updatedAt: now, finishedAt: isTerminal(next.phase) && !before.finishedAt ? now : next.finishedAt };
    return this.deps.store.update(final, event && { ...event, detail: { ...event.detail, state: launchStateOf(final) } });
  }

  private runtime(launch: Launch): LaunchRuntime {
    const runtime = this.deps.runtimes[launch.executor];
    if (!runtime) throw new Error(`the ${launch.executor} executor is not configured on this server`);
    return runtime;
  }

  private nowMs(): number {
    return this.deps.clock.now().getTime();
  }

  private move(launch: Launch, to: LaunchPhase, reason: string, patch: Partial<Launch> = {}, detail: Record<string, unknown> = {}): Outcome {
    return { next: { ...launch, ...patch, phase: to }, event: { actor: this.actor.name, from: launch.phase, to, reason, detail }, again: true };
  }

  /** A change within the phase (a new stage), recorded as an event so the history shows every step. */
  private stage(launch: Launch, patch: Partial<Launch>, reason: string | null, detail: Record<string, unknown> = {}): Outcome {
    return { next: { ...launch, ...patch }, event: reason ? { actor: this.actor.name, from: launch.phase, to: launch.phase, reason, detail } : null, again: true };
  }

  private wait(launch: Launch): Outcome {
    return { next: launch, event: null, again: false };
  }

  private async step(launch: Launch): Promise<Outcome> {
    switch (launch.phase) {
      case 'estimating':
        return this.estimate(launch);
      case 'preparing':
        return this.prepare(launch);
      case 'shifting':
        return this.shift(launch);
      case 'rolling_back':
        return this.rollBack(launch);
      case 'finalizing':
        return this.finalize(launch);
      default:
        return this.wait(launch);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Estimating: capacity, demand, cost, plan and approval.

  private async estimate(launch: Launch): Promise<Outcome> {
    const { registry } = this.deps;
    const runtime = this.runtime(launch);
    const candidate = await registry.getModel(launch.candidate);
    const type = await registry.getModelType(launch.modelType);
    const serving = servingSettingsOf(type);

    let maxQpsPerReplica = candidate.capacity?.maxQpsPerReplica ?? null;
    let capacitySource = candidate.capacity?.estimate ? `measured ${candidate.capacity.estimate.measuredAt} (${candidate.capacity.estimate.recording})` : 'the capacity profile';
    if (maxQpsPerReplica === null) {
      if (!runtime.measureCapacity) {
        return this.move(launch, 'failed', `${launch.candidate} has no capacity profile and the ${launch.executor} executor cannot measure one: run 'modelfleet capacity estimate --model ${launch.candidate}' first`, { outcome: 'no capacity profile' });
      }
      const measured = await runtime.measureCapacity(candidate, { p99Ms: serving.p99Ms, maxErrorRate: serving.maxErrorRate });
      maxQpsPerReplica = measured.maxQpsPerReplica;
      capacitySource = measured.source;
    }

    const now = this.nowMs();
    const observed = await runtime.stats.peakQps(launch.modelType, now - (this.deps.demandLookbackMs ?? 7 * 24 * 3_600_000), now);
    const baseline = launch.baseline ? await registry.getModel(launch.baseline) : null;
    const requested = launch.requestedPeakQps;
    let peakQps: number | null = null;
    let demandSource = '';
    if (requested) [peakQps, demandSource] = [requested, 'given with the launch'];
    else if (observed) [peakQps, demandSource] = [observed, 'the router: peak per-minute rate over the lookback'];
    else if (baseline?.capacity && baseline.capacity.replicas > 0) {
      peakQps = (baseline.capacity.replicas * baseline.capacity.maxQpsPerReplica) / (1 + serving.headroom);
      demandSource = "the baseline's sizing (its replicas x capacity, less the headroom)";
    }
    if (!peakQps) {
      return this.move(launch, 'failed', `no demand known for ${launch.modelType}: the router has seen no traffic and the baseline has no capacity profile; start the launch with --peak-qps`, { outcome: 'no demand' });
    }

    const unitCost = candidate.capacity?.unitCost ?? serving.unitCost;
    const cost = estimateCost({ peakQps, maxQpsPerReplica, unitCost, headroom: serving.headroom, minReplicas: serving.minReplicas });
    const baselineReplicas = launch.baselineReplicasAtStart;
    const baselineUnitCost = baseline?.capacity?.unitCost ?? serving.unitCost;
    const baselineFootprint = baseline ? { model: baseline.id, replicas: baselineReplicas, unitCost: baselineUnitCost, cost: baselineReplicas * baselineUnitCost } : null;
    const pool = await this.deps.pool(launch.team, launch.id);
    const plan = planShift({
      candidateReplicas: cost.replicas,
      candidateUnitCost: unitCost,
      baselineReplicas,
      baselineUnitCost,
      stepShare: launch.settings.stepShare,
      freeUnits: pool.free,
    });
    const approval = decideApproval({
      policy: pool.policy,
      criticality: type.criticality,
      candidateCost: cost.cost,
      baselineCost: baselineFootprint?.cost ?? null,
      fitsQuota: plan.ok,
      ...(plan.ok ? {} : { quotaReason: plan.reason }),
    });
    const estimate = {
      maxQpsPerReplica,
      capacitySource,
      peakQps,
      demandSource,
      replicas: cost.replicas,
      unitCost,
      cost: cost.cost,
      baseline: baselineFootprint,
      costChange: baselineFootprint ? cost.cost - baselineFootprint.cost : null,
    };
    const patch: Partial<Launch> = {
      estimate,
      approval: { decision: approval.decision, reason: approval.reason, policy: pool.policy, approvedBy: approval.decision === 'auto' ? this.actor.name : null, approvedAt: approval.decision === 'auto' ? this.deps.clock.now().toISOString() : null },
      plan: plan.ok ? plan.steps : [],
      planNote: plan.ok ? plan.note : plan.reason,
      reservedUnits: plan.ok ? plan.reservedUnits : 0,
    };
    const detail = { estimate, quota: pool.quota, free: pool.free, plan: plan.ok ? plan.steps.map((s) => s.share) : null };
    if (approval.decision === 'refused') return this.move(launch, 'failed', `refused: ${approval.reason}`, { ...patch, outcome: `refused: ${approval.reason}` }, detail);
    if (approval.decision === 'needs_approval') return { ...this.move(launch, 'awaiting_approval', approval.reason, patch, detail), again: false };
    return this.move(launch, 'preparing', `approved automatically: ${approval.reason}`, patch, detail);
  }

  // ---------------------------------------------------------------------------------------------
  // Preparing: the candidate's first replicas, and the old model's replicas under the executor.

  private async prepare(launch: Launch): Promise<Outcome> {
    const { executor } = this.runtime(launch);
    const first = launch.plan[0];
    if (!first) return this.move(launch, 'failed', 'the launch has no shift plan', { outcome: 'no plan' });
    if (launch.stage !== 'wait_ready') {
      if (launch.baseline && launch.baselineReplicasAtStart > 0) {
        const current = await executor.status(launch.baseline);
        if (!current) await executor.apply({ modelId: launch.baseline, modelType: launch.modelType, replicas: launch.baselineReplicasAtStart });
      }
      await executor.apply({ modelId: launch.candidate, modelType: launch.modelType, replicas: first.candidateReplicas });
      return this.stage(launch, { stage: 'wait_ready', waitUntil: this.nowMs() + this.readyTimeout(), replicas: { ...launch.replicas, candidate: first.candidateReplicas } }, `starting ${first.candidateReplicas} replica(s) of ${launch.candidate}`);
    }
    const status = await this.ensure(executor, launch, launch.candidate, first.candidateReplicas);
    if (status && status.ready >= first.candidateReplicas) {
      return this.move(launch, 'shifting', `${status.ready} replica(s) of ${launch.candidate} ready`, { step: 0, stage: 'shift', waitUntil: null });
    }
    if (this.nowMs() > (launch.waitUntil ?? 0)) {
      await executor.remove(launch.candidate);
      return this.move(launch, 'failed', `the candidate's replicas were not ready within ${Math.round(this.readyTimeout() / 1000)} s (${status?.ready ?? 0} of ${first.candidateReplicas}); they were removed`, { outcome: 'replicas not ready', stage: null, waitUntil: null, replicas: { ...launch.replicas, candidate: 0 } });
    }
    return this.wait(launch);
  }

  /**
   * The model's replicas, asking for them again when the executor has fewer than the launch recorded
   * (it restarted, or someone removed them): the request is idempotent, so repeating it is safe.
   */
  private async ensure(executor: Executor, launch: Launch, modelId: string, replicas: number) {
    const status = await executor.status(modelId);
    if (status && status.desired >= replicas) return status;
    return executor.apply({ modelId, modelType: launch.modelType, replicas });
  }

  private readyTimeout(): number {
    return this.deps.readyTimeoutMs ?? 120_000;
  }

  // ---------------------------------------------------------------------------------------------
  // Shifting: scale up, wait, move traffic, bake, gates, scale down; step after step.

  private async shift(launch: Launch): Promise<Outcome> {
    const { executor, stats } = this.runtime(launch);
    const k = launch.step;
    const step = launch.plan[k]!;
    const last = k === launch.plan.length - 1;
    switch (launch.stage) {
      case 'scale_up': {
        await executor.apply({ modelId: launch.candidate, modelType: launch.modelType, replicas: step.candidateReplicas });
        return this.stage(launch, { stage: 'wait_ready', waitUntil: this.nowMs() + this.readyTimeout(), replicas: { ...launch.replicas, candidate: step.candidateReplicas } }, `step ${k + 1}/${launch.plan.length}: scaling ${launch.candidate} to ${step.candidateReplicas} replica(s)`);
      }
      case 'wait_ready': {
        const status = await this.ensure(executor, launch, launch.candidate, step.candidateReplicas);
        if (status && status.ready >= step.candidateReplicas) return this.stage(launch, { stage: 'shift', waitUntil: null }, null);
        if (this.nowMs() > (launch.waitUntil ?? 0)) return this.startRollback(launch, `step ${k + 1}: the candidate's replicas were not ready in time (${status?.ready ?? 0} of ${step.candidateReplicas})`);
        return this.wait(launch);
      }
      case 'shift': {
        const traffic = await this.setTraffic(launch, step.share);
        const promoted = launch.promotedBy !== null;
        const bake = promoted ? 0 : launch.settings.bakeSeconds * 1000;
        return this.stage(
          launch,
          { stage: 'bake', traffic, bakeFrom: this.nowMs(), waitUntil: this.nowMs() + bake },
          `step ${k + 1}/${launch.plan.length}: ${launch.candidate} takes ${Math.round(step.share * 100)}% of the traffic (share ${fmtShare(traffic.candidate)}), baking ${bake / 1000} s`,
          { traffic },
        );
      }
      case 'bake':
        if (this.nowMs() < (launch.waitUntil ?? 0)) return this.wait(launch);
        return this.stage(launch, { stage: 'gate' }, null);
      case 'gate': {
        if (launch.promotedBy) return this.stage(launch, { stage: 'scale_down' }, `step ${k + 1}: gates skipped, promoted by ${launch.promotedBy}`);
        const from = launch.bakeFrom ?? this.nowMs();
        const to = this.nowMs();
        const [candidate, baseline, stability] = await Promise.all([stats.window(launch.candidate, from, to), launch.baseline ? stats.window(launch.baseline, from, to) : Promise.resolve(null), this.deps.stability(launch.candidate)]);
        // Too little traffic reached the candidate to judge it yet (a quiet hour, or stats still on their way): bake longer, up to a limit.
        const bakeMs = launch.settings.bakeSeconds * 1000;
        if (candidate.requests < MIN_GATE_REQUESTS && to < from + Math.max(3 * bakeMs, bakeMs + 30_000)) return { ...this.stage(launch, { stage: 'bake', waitUntil: to + 2000 }, null), again: false };
        const results = evaluateGates({ candidate, baseline, errorRateMargin: launch.settings.errorRateMargin, p99Ms: launch.settings.p99Ms, stability, minRequests: MIN_GATE_REQUESTS });
        const at = this.deps.clock.now().toISOString();
        const gates = [...launch.gates, ...results.map((r) => ({ step: k, at, ...r }))];
        if (!gatesPass(results)) {
          const failed = results.filter((r) => !r.pass).map((r) => `${r.name}: ${r.detail}`).join('; ');
          return this.startRollback({ ...launch, gates }, `step ${k + 1}: gate failed: ${failed}`);
        }
        return this.stage(launch, { gates, stage: 'scale_down' }, `step ${k + 1}: gates passed (${results.map((r) => r.detail).join('; ')})`, { gates: results });
      }
      case 'scale_down': {
        if (launch.baseline) await executor.apply({ modelId: launch.baseline, modelType: launch.modelType, replicas: step.baselineReplicas });
        const replicas = { ...launch.replicas, baseline: launch.baseline ? step.baselineReplicas : 0 };
        if (last) return this.move(launch, 'finalizing', `all traffic on ${launch.candidate}`, { replicas, stage: null, waitUntil: null });
        return this.stage(launch, { replicas, step: k + 1, stage: 'scale_up', waitUntil: null, bakeFrom: null }, launch.baseline ? `step ${k + 1}: ${launch.baseline} scaled down to ${step.baselineReplicas} replica(s)` : null);
      }
      default:
        return this.stage(launch, { stage: 'scale_up' }, null);
    }
  }

  /** Moves `share` of the old model's starting traffic to the candidate, in one registry write. */
  private async setTraffic(launch: Launch, share: number): Promise<{ candidate: number; baseline: number }> {
    const candidateShare = round6(launch.baselineShare * share);
    const baselineShare = round6(launch.baselineShare - candidateShare);
    for (let attempt = 0; ; attempt++) {
      const candidate = await this.deps.registry.getModel(launch.candidate);
      const baseline = launch.baseline ? await this.deps.registry.getModel(launch.baseline) : null;
      const ops: RegistryOp[] = [];
      // Lower first, so shares never sum above 1 inside the write.
      if (baseline && baseline.trafficShare !== baselineShare) ops.push({ action: 'patch', kind: 'model', key: baseline.id, mergePatch: { trafficShare: baselineShare }, ifVersion: baseline.version });
      if (candidate.trafficShare !== candidateShare) ops.push({ action: 'patch', kind: 'model', key: candidate.id, mergePatch: { trafficShare: candidateShare }, ifVersion: candidate.version });
      if (!ops.length) {
        await this.applyWeights(launch, candidateShare, baselineShare);
        return { candidate: candidateShare, baseline: baselineShare };
      }
      try {
        await this.deps.registry.execute(this.actor, ops, { reason: `launch ${launch.id}: ${launch.candidate} at ${Math.round(share * 100)}% of ${launch.baseline ?? 'the traffic'}` });
        await this.applyWeights(launch, candidateShare, baselineShare);
        return { candidate: candidateShare, baseline: baselineShare };
      } catch (error) {
        // Someone else edited one of the models between the read and the write: read again.
        if (attempt >= 3 || (error as { code?: string }).code !== 'precondition_failed') throw error;
      }
    }
  }

  /** Executors that own the traffic split (Kubernetes) get the same shares the registry now holds. */
  private async applyWeights(launch: Launch, candidateShare: number, baselineShare: number): Promise<void> {
    const { executor } = this.runtime(launch);
    if (!executor.setTrafficWeights) return;
    await executor.setTrafficWeights(launch.modelType, { [launch.candidate]: candidateShare, ...(launch.baseline ? { [launch.baseline]: baselineShare } : {}) });
  }

  // ---------------------------------------------------------------------------------------------
  // Rolling back: the old model scales up before traffic moves back, then the candidate goes.

  startRollback(launch: Launch, reason: string, endsAs: 'rolled_back' | 'aborted' = 'rolled_back'): Outcome {
    return this.move(launch, 'rolling_back', reason, { stage: 'scale_up_baseline', waitUntil: null, rollbackEndsAs: endsAs, outcome: reason });
  }

  private async rollBack(launch: Launch): Promise<Outcome> {
    const { executor } = this.runtime(launch);
    switch (launch.stage) {
      case 'scale_up_baseline':
        if (launch.baseline && launch.baselineReplicasAtStart > 0) {
          await executor.apply({ modelId: launch.baseline, modelType: launch.modelType, replicas: launch.baselineReplicasAtStart });
          return this.stage(launch, { stage: 'wait_baseline', waitUntil: this.nowMs() + this.readyTimeout(), replicas: { ...launch.replicas, baseline: launch.baselineReplicasAtStart } }, `scaling ${launch.baseline} back to ${launch.baselineReplicasAtStart} replica(s) before traffic moves back`);
        }
        return this.stage(launch, { stage: 'shift_back' }, null);
      case 'wait_baseline': {
        const status = await this.ensure(executor, launch, launch.baseline!, launch.baselineReplicasAtStart);
        // Traffic moves back once the old model can hold it, or at the deadline whatever it has: a failing candidate is worse.
        if ((status && status.ready >= launch.baselineReplicasAtStart) || this.nowMs() > (launch.waitUntil ?? 0)) return this.stage(launch, { stage: 'shift_back', waitUntil: null }, null);
        return this.wait(launch);
      }
      case 'shift_back': {
        const traffic = await this.setTraffic(launch, 0);
        return this.stage(launch, { stage: 'remove_candidate', traffic }, `traffic back on ${launch.baseline ?? 'nothing'}: share ${fmtShare(traffic.baseline)}`, { traffic });
      }
      case 'remove_candidate':
      default: {
        await executor.remove(launch.candidate);
        const to = launch.rollbackEndsAs;
        return this.move(launch, to, `${launch.candidate}'s replicas removed; ${to === 'aborted' ? 'aborted' : 'rolled back'}`, { stage: null, replicas: { ...launch.replicas, candidate: 0 }, reservedUnits: 0 });
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Finalizing: the registry in one transaction, then the old model's replicas.

  private async finalize(launch: Launch): Promise<Outcome> {
    const { executor } = this.runtime(launch);
    const { registry } = this.deps;
    const candidate = await registry.getModel(launch.candidate);
    const oldBaseline = launch.baseline ? await registry.getModel(launch.baseline) : null;
    const type = await registry.getModelType(launch.modelType);
    const heldOut = launch.settings.retireBaseline === 'holdout' && oldBaseline ? oldBaseline.id : null;
    if (candidate.role !== 'baseline') {
      const ops: RegistryOp[] = [];
      const estimate = launch.estimate!;
      const capacity = { ...(candidate.capacity ?? {}), maxQpsPerReplica: estimate.maxQpsPerReplica, replicas: estimate.replicas, unitCost: estimate.unitCost };
      // The new baseline inherits the old one's healthy bands when it has none, so its monitoring starts at once.
      const thresholds = Object.keys(candidate.thresholds).length ? undefined : oldBaseline?.thresholds;
      const holdout = type.holdoutModelId && heldOut ? await registry.getModel(type.holdoutModelId) : null;
      if (holdout) ops.push({ action: 'patch', kind: 'model', key: holdout.id, mergePatch: { role: 'retired', trafficShare: 0 }, ifVersion: holdout.version });
      if (oldBaseline) {
        ops.push({ action: 'patch', kind: 'model', key: oldBaseline.id, mergePatch: heldOut ? { role: 'holdout', trafficShare: holdout?.trafficShare ?? 0 } : { role: 'retired', trafficShare: 0 }, ifVersion: oldBaseline.version });
      }
      ops.push({ action: 'patch', kind: 'model', key: candidate.id, mergePatch: { role: 'baseline', trafficShare: launch.baselineShare, capacity, ...(thresholds ? { thresholds } : {}) }, ifVersion: candidate.version });
      await registry.execute(this.actor, ops, { reason: `launch ${launch.id} finalized: ${candidate.id} is the baseline of ${launch.modelType}${oldBaseline ? `, ${oldBaseline.id} ${heldOut ? 'is the holdout' : 'retired'}` : ''}` });
    }
    if (oldBaseline && !heldOut) await executor.remove(oldBaseline.id);
    if (heldOut) await executor.apply({ modelId: heldOut, modelType: launch.modelType, replicas: Math.max(1, launch.settings.minReplicas) });
    const startedAt = Date.parse(launch.createdAt);
    const summary = {
      durationSeconds: Math.round((this.nowMs() - startedAt) / 100) / 10,
      steps: launch.plan.length,
      costChange: launch.estimate?.costChange ?? null,
      replicas: launch.estimate?.replicas ?? launch.replicas.candidate,
      retired: oldBaseline && !heldOut ? oldBaseline.id : null,
      heldOut,
    };
    return this.move(launch, 'completed', `${launch.candidate} is the baseline of ${launch.modelType}`, { summary, reservedUnits: 0, replicas: { candidate: summary.replicas, baseline: 0 } }, { summary });
  }
}

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;
const fmtShare = (x: number) => `${Number(x.toFixed(4))}`;
