import { randomBytes } from 'node:crypto';
import { conflict, invalidInput, notFound } from '../core/errors.js';
import { parseOrThrow } from '../core/zodIssues.js';
import { assertCanWriteOwned } from '../registry/access.js';
import type { Actor } from '../registry/actor.js';
import type { Clock, RegistryService } from '../registry/registryService.js';
import type { Executor, ExecutorKind } from '../serving/executor.js';
import { launchStateOf, LaunchRequestSchema, type Launch, type LaunchEvent } from './launch.js';
import type { LaunchEngine } from './launchEngine.js';
import { servingSettingsOf } from '../registry/modelType.js';
import { actionRefusal, isTerminal, type LaunchAction } from './launchPhase.js';
import type { LaunchFilter, LaunchStore } from './launchStore.js';

/** Roles a model may launch from: a model already serving as baseline or holdout, or retired, is not a candidate. */
const LAUNCHABLE_ROLES = new Set(['candidate', 'experiment', 'shadow']);

/**
 * What people do with launches: start one, look at it, approve, pause, resume, abort or promote it.
 * The engine does the rest; every action here is a version-checked write with its actor and reason.
 */
export class LaunchService {
  constructor(
    private readonly store: LaunchStore,
    private readonly registry: RegistryService,
    private readonly engine: LaunchEngine,
    private readonly executors: Partial<Record<ExecutorKind, Executor>>,
    private readonly clock: Clock,
  ) {}

  async start(actor: Actor, input: unknown): Promise<Launch> {
    const request = parseOrThrow(LaunchRequestSchema, input, 'the launch request');
    const type = await this.registry.getModelType(request.modelType);
    assertCanWriteOwned(actor, `model type '${type.name}'`, type.ownerTeam, type.ownerTeam);
    const candidate = await this.registry.getModel(request.candidate);
    if (candidate.modelType !== type.name) throw invalidInput(`${candidate.id} is a model of ${candidate.modelType}, not of ${type.name}`, [{ path: 'candidate', message: `pick a model of ${type.name}` }]);
    if (!LAUNCHABLE_ROLES.has(candidate.role)) {
      throw conflict(`${candidate.id} is the type's ${candidate.role}, so it cannot be launched: launch a candidate, experiment or shadow model`);
    }
    const executor = this.executors[request.executor];
    if (!executor) throw invalidInput(`the ${request.executor} executor is not configured on this server`, [{ path: 'executor', message: `use one of: ${Object.keys(this.executors).join(', ')}` }]);

    const baseline = type.baselineModelId ? await this.registry.getModel(type.baselineModelId) : null;
    let baselineShare = baseline?.trafficShare ?? 0;
    if (!baseline) {
      // A type without a baseline: the candidate takes what the other live models leave.
      const others = await this.registry.listModels({ modelType: type.name, limit: 1000 });
      const taken = others.items.filter((m) => m.role !== 'retired' && m.id !== candidate.id).reduce((a, m) => a + m.trafficShare, 0);
      baselineShare = Math.max(0, 1 - taken);
    }
    const deployed = baseline ? await executor.status(baseline.id) : null;
    const baselineReplicasAtStart = deployed?.desired ?? baseline?.capacity?.replicas ?? 0;
    const serving = servingSettingsOf(type);
    const now = this.clock.now().toISOString();
    const launch: Launch = {
      id: `launch-${now.slice(0, 10).replaceAll('-', '')}-${randomBytes(4).toString('hex')}`,
      modelType: type.name,
      candidate: candidate.id,
      baseline: baseline?.id ?? null,
      baselineShare,
      team: type.ownerTeam,
      executor: request.executor,
      phase: 'estimating',
      pausedFrom: null,
      step: -1,
      stage: null,
      waitUntil: null,
      bakeFrom: null,
      rollbackEndsAs: 'rolled_back',
      promotedBy: null,
      settings: {
        stepShare: request.stepShare ?? 0.2,
        bakeSeconds: request.bakeSeconds ?? serving.bakeSeconds,
        p99Ms: serving.p99Ms,
        maxErrorRate: serving.maxErrorRate,
        errorRateMargin: serving.errorRateMargin,
        headroom: serving.headroom,
        minReplicas: serving.minReplicas,
        retireBaseline: request.retireBaseline,
      },
      estimate: null,
      approval: null,
      expectedGain: request.expectedGain ?? null,
      requestedPeakQps: request.peakQps ?? null,
      plan: [],
      planNote: null,
      reservedUnits: 0,
      traffic: { candidate: candidate.trafficShare, baseline: baselineShare },
      replicas: { candidate: 0, baseline: baselineReplicasAtStart },
      baselineReplicasAtStart,
      gates: [],
      outcome: null,
      summary: null,
      version: 1,
      createdBy: actor.name,
      createdAt: now,
      updatedAt: now,
      finishedAt: null,
    };
    await this.store.create(launch, { actor: actor.name, from: null, to: 'estimating', reason: request.reason ?? `launch of ${candidate.id} requested`, detail: { request, state: launchStateOf(launch) } });
    // With a capacity profile, estimation is quick: the answer (approved, waiting or refused) comes back at once.
    if (candidate.capacity) await this.engine.advance(launch.id);
    else void this.engine.advance(launch.id);
    return this.get(launch.id);
  }

  async get(id: string): Promise<Launch> {
    const launch = await this.store.get(id);
    if (!launch) throw notFound(`no launch ${id}; 'modelfleet launch list' shows the launches`);
    return launch;
  }

  list(filter: LaunchFilter): Promise<Launch[]> {
    return this.store.list(filter);
  }

  async events(id: string): Promise<LaunchEvent[]> {
    await this.get(id);
    return this.store.events(id);
  }

  /** Capacity units the team's unfinished launches hold, leaving out `except`. */
  async reservedBy(team: string, except: string | null = null): Promise<number> {
    const active = await this.store.list({ team, active: true, limit: 10_000 });
    return active.filter((l) => l.id !== except).reduce((a, l) => a + l.reservedUnits, 0);
  }

  /**
   * Applies a person's action on the launch as it is now. The engine may be moving the same launch:
   * the action waits for its current move, and a write that loses the race is applied again on the
   * fresh state (or refused, when the action no longer makes sense there).
   */
  async act(actor: Actor, id: string, action: LaunchAction, reason: string | null = null): Promise<Launch> {
    for (let attempt = 0; attempt < 5; attempt++) {
      await this.engine.settled(id);
      if (await this.tryAct(actor, id, action, reason)) {
        void this.engine.advance(id);
        return this.get(id);
      }
    }
    throw conflict(`launch ${id} kept moving while the ${action} was being applied; look at it again and retry`);
  }

  private async tryAct(actor: Actor, id: string, action: LaunchAction, reason: string | null): Promise<boolean> {
    const launch = await this.get(id);
    assertCanWriteOwned(actor, `launch ${id} (team '${launch.team}')`, launch.team, launch.team);
    const refusal = actionRefusal(launch, action);
    if (refusal) throw conflict(refusal);
    const why = (text: string) => (reason ? `${text}: ${reason}` : text);
    const event = (to: Launch['phase'], text: string) => ({ actor: actor.name, from: launch.phase, to, reason: why(text), detail: { action } });
    let next: Launch;
    let ev;
    switch (action) {
      case 'approve':
      case 'reject': {
        const at = this.clock.now().toISOString();
        if (action === 'approve') {
          next = { ...launch, phase: 'preparing', approval: { ...launch.approval!, decision: launch.approval!.decision, approvedBy: actor.name, approvedAt: at } };
          ev = event('preparing', `approved by ${actor.name}`);
        } else {
          next = { ...launch, phase: 'aborted', outcome: why(`rejected by ${actor.name}`), reservedUnits: 0 };
          ev = event('aborted', `rejected by ${actor.name}`);
        }
        break;
      }
      case 'pause':
        next = { ...launch, phase: 'paused', pausedFrom: launch.phase };
        ev = event('paused', `paused by ${actor.name}`);
        break;
      case 'resume':
        // A bake interrupted by a pause starts over: the traffic before the pause says less about now.
        next = { ...launch, phase: launch.pausedFrom!, pausedFrom: null, ...(launch.stage === 'bake' ? { stage: 'shift' as const } : {}) };
        ev = event(launch.pausedFrom!, `resumed by ${actor.name}`);
        break;
      case 'abort': {
        const from = launch.phase === 'paused' ? launch.pausedFrom! : launch.phase;
        if (from === 'estimating' || from === 'awaiting_approval') {
          next = { ...launch, phase: 'aborted', outcome: why(`aborted by ${actor.name}`), reservedUnits: 0 };
          ev = event('aborted', `aborted by ${actor.name}`);
        } else {
          next = { ...launch, phase: 'rolling_back', pausedFrom: null, stage: 'scale_up_baseline', waitUntil: null, rollbackEndsAs: 'aborted', outcome: why(`aborted by ${actor.name}`) };
          ev = event('rolling_back', `aborted by ${actor.name}: the old model takes its traffic back`);
        }
        break;
      }
      case 'promote': {
        next = { ...launch, phase: 'shifting', pausedFrom: null, promotedBy: actor.name, step: launch.plan.length - 1, stage: 'scale_up', waitUntil: null, bakeFrom: null };
        ev = event('shifting', `promoted by ${actor.name}: the remaining steps are skipped, all traffic moves once the candidate's replicas are ready`);
        break;
      }
    }
    return this.engine.save(launch, next, ev);
  }
}
