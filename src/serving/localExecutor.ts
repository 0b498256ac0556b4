import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino, { type Logger } from 'pino';
import { invalidInput } from '../core/errors.js';
import type { DeploymentSpec, DeploymentStatus, Executor, ReplicaDirectory } from './executor.js';
import type { ArtifactSize } from './modelArtifact.js';
import { urlOf } from './modelServer.js';
import { freePort, isModelServerProcess, processAlive, signalReplica, waitForExit } from './replicaProcess.js';
import type { ReplicaRecord, ReplicaState, ReplicaStore } from './replicaStore.js';

/** The package root, from this file's place in dist/src/serving/. */
const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** The CLI every replica runs: `modelfleet model-server ...`. */
export const MODELFLEET_CLI = join(PACKAGE_ROOT, 'bin', 'modelfleet.js');

const EXECUTOR = 'local';
/** More replicas of one model than this on one machine is a typo, not a plan. */
const MAX_LOCAL_REPLICAS = 64;
/** A replica that dies this soon after it started counts as failing to start: its restarts back off. */
const HEALTHY_AFTER_MS = 10_000;
const MAX_RESTART_DELAY_MS = 30_000;
/** A ready replica leaves the endpoints after this many failed health checks in a row (one slow answer is not an outage). */
const UNHEALTHY_AFTER_CHECKS = 3;

export interface LocalExecutorOptions {
  /** Where replica slots are recorded, so a restarted server adopts its replicas instead of leaking them. */
  store: ReplicaStore;
  /** Each replica's stdout and stderr are appended to `<logsDir>/<replicaId>.log`. */
  logsDir: string;
  /** Address replicas listen on. Default 127.0.0.1. */
  host?: string;
  /** Dimensions of the generated artifact each replica serves. Default small. */
  size?: ArtifactSize;
  /** Extra `model-server` flags for a model (e.g. `--error-rate 0.2` to rehearse a failing candidate). Replicas run one worker: /healthz must answer with the process's own pid. */
  argsFor?: (modelId: string) => string[];
  /** How often each replica's process and /healthz are checked. Default 250 ms. */
  healthPollMs?: number;
  /** A replica not healthy this long after it started (or after it stopped answering) is killed and restarted. Default 60 s. */
  startTimeoutMs?: number;
  /** How long a stopping replica may finish its requests after SIGTERM before SIGKILL. Default 10 s. */
  stopGraceMs?: number;
  logger?: Logger;
  /** The CLI replicas run (default: this package's bin/modelfleet.js). */
  cli?: string;
}

/** One replica slot in memory; the store has the same facts for the next server. */
interface Replica {
  id: string;
  modelId: string;
  modelType: string;
  /** Ordinal within the model: scaling down removes the highest first. */
  slot: number;
  endpoint: string | null;
  port: number | null;
  pid: number | null;
  state: ReplicaState;
  /** The process when this executor spawned it (an adopted one has none). */
  child: ChildProcess | null;
  /** Bumped at every (re)start, so a health result about an earlier process is ignored. */
  generation: number;
  startedAt: number;
  /** When it last became not ready (start, restart, or failed checks): the start timeout counts from here. */
  unreadySince: number;
  failedChecks: number;
  restarts: number;
  /** Quick deaths in a row, for the restart back-off. */
  failures: number;
  restartAt: number;
  lastError: string | null;
}

/** What stopping a replica needs to know, also for a slot read back from the store. */
type StopTarget = Pick<Replica, 'id' | 'modelId' | 'pid' | 'port' | 'endpoint' | 'child'>;

interface Deployment {
  modelId: string;
  modelType: string;
  /** Active slots by id (stopping ones are no longer here). */
  replicas: Map<string, Replica>;
  nextSlot: number;
  /** Stops in progress, awaited by remove() and close(). */
  stopping: Set<Promise<void>>;
}

interface Health {
  model: string;
  pid: number;
}

/**
 * Runs each replica as a real `modelfleet model-server` process on the loopback interface and
 * supervises it: a health loop marks replicas ready, restarts any whose process died (on a new
 * port, as long as its slot exists), and writes every state change to the store. Replicas are
 * spawned detached in their own process group, so a crash of the server does not take them down;
 * `recover()` adopts them on the next start (call it before the first `apply`, or the recorded slots
 * would come on top of the new ones).
 */
/** A replica slot as it starts (or is found again after a restart): not yet checked, nothing failed. */
function startingReplica(fields: Pick<Replica, 'id' | 'modelId' | 'modelType' | 'slot' | 'endpoint' | 'port' | 'pid' | 'restarts'>): Replica {
  const now = Date.now();
  return { ...fields, state: 'starting', child: null, generation: 0, startedAt: now, unreadySince: now, failedChecks: 0, failures: 0, restartAt: 0, lastError: null };
}

export class LocalExecutor implements Executor, ReplicaDirectory {
  readonly kind = 'local' as const;
  private readonly store: ReplicaStore;
  private readonly host: string;
  private readonly size: ArtifactSize;
  private readonly argsFor: (modelId: string) => string[];
  private readonly logsDir: string;
  private readonly healthPollMs: number;
  private readonly startTimeoutMs: number;
  private readonly stopGraceMs: number;
  private readonly logger: Logger;
  private readonly cli: string;
  private readonly deployments = new Map<string, Deployment>();
  /** Every operation that changes deployments runs one at a time, in call order. */
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private closed = false;

  constructor(options: LocalExecutorOptions) {
    this.store = options.store;
    this.host = options.host ?? '127.0.0.1';
    this.size = options.size ?? 'small';
    this.argsFor = options.argsFor ?? (() => []);
    this.logsDir = options.logsDir;
    this.healthPollMs = options.healthPollMs ?? 250;
    this.startTimeoutMs = options.startTimeoutMs ?? 60_000;
    this.stopGraceMs = options.stopGraceMs ?? 10_000;
    this.logger = options.logger ?? pino({ level: 'silent' });
    this.cli = options.cli ?? MODELFLEET_CLI;
    mkdirSync(this.logsDir, { recursive: true });
    this.schedule();
  }

  // ---------------------------------------------------------------------------------------------
  // Executor

  async apply(spec: DeploymentSpec): Promise<DeploymentStatus> {
    if (!Number.isInteger(spec.replicas) || spec.replicas < 0 || spec.replicas > MAX_LOCAL_REPLICAS) {
      throw invalidInput(`replicas of ${spec.modelId} must be a whole number from 0 to ${MAX_LOCAL_REPLICAS} on the local executor, not ${spec.replicas}`, [{ path: 'replicas', message: 'a whole number of model-server processes' }]);
    }
    return this.serialize(async () => {
      let deployment = this.deployments.get(spec.modelId);
      if (!deployment) {
        deployment = { modelId: spec.modelId, modelType: spec.modelType, replicas: new Map(), nextSlot: 1, stopping: new Set() };
        this.deployments.set(spec.modelId, deployment);
      }
      while (deployment.replicas.size < spec.replicas) await this.addReplica(deployment);
      if (deployment.replicas.size > spec.replicas) {
        const newestFirst = [...deployment.replicas.values()].sort((a, b) => b.slot - a.slot);
        for (const replica of newestFirst.slice(0, deployment.replicas.size - spec.replicas)) this.beginStop(deployment, replica);
      }
      return this.statusOf(deployment);
    });
  }

  async status(modelId: string): Promise<DeploymentStatus | null> {
    const deployment = this.deployments.get(modelId);
    return deployment ? this.statusOf(deployment) : null;
  }

  async remove(modelId: string): Promise<void> {
    const stops = await this.serialize(async () => {
      const deployment = this.deployments.get(modelId);
      if (!deployment) return [];
      for (const replica of [...deployment.replicas.values()]) this.beginStop(deployment, replica);
      this.deployments.delete(modelId);
      return [...deployment.stopping];
    });
    await Promise.all(stops);
  }

  async list(): Promise<DeploymentStatus[]> {
    return [...this.deployments.values()].map((d) => this.statusOf(d)).sort((a, b) => a.modelId.localeCompare(b.modelId));
  }

  /**
   * Reads this executor's slots from the store. A replica whose process is alive and answers
   * /healthz for its model (or, still starting, runs `model-server` for its model and port) is
   * adopted and supervised again; a dead one is restarted; a slot that was stopping is finished off.
   * A pid that now belongs to an unrelated process is never signalled.
   */
  async recover(): Promise<void> {
    const records = await this.store.list(EXECUTOR);
    const finishing: Array<Promise<void>> = [];
    await this.serialize(async () => {
      for (const record of records) {
        const known = this.deployments.get(record.modelId)?.replicas.has(record.id);
        if (known) continue;
        if (record.state === 'stopping') {
          finishing.push(this.finishAbandonedStop(record));
          continue;
        }
        let deployment = this.deployments.get(record.modelId);
        if (!deployment) {
          deployment = { modelId: record.modelId, modelType: record.modelType, replicas: new Map(), nextSlot: 1, stopping: new Set() };
          this.deployments.set(record.modelId, deployment);
        }
        const slot = typeof record.doc['slot'] === 'number' ? record.doc['slot'] : deployment.nextSlot;
        deployment.nextSlot = Math.max(deployment.nextSlot, slot + 1);
        const port = record.endpoint ? Number(new URL(record.endpoint).port) : null;
        const replica = startingReplica({ id: record.id, modelId: record.modelId, modelType: record.modelType, slot, endpoint: record.endpoint, port, pid: record.pid, restarts: typeof record.doc['restarts'] === 'number' ? record.doc['restarts'] : 0 });
        deployment.replicas.set(replica.id, replica);

        const health = record.endpoint ? await probeHealth(record.endpoint, this.probeTimeoutMs()) : null;
        if (health && health.model === record.modelId && (record.pid === null || health.pid === record.pid) && (await processAlive(health.pid))) {
          // Its pid may be missing when the server stopped between spawning it and recording the pid.
          replica.pid = health.pid;
          await this.setState(replica, 'ready', { pid: health.pid });
          this.logger.info({ replica: replica.id, model: replica.modelId, pid: replica.pid, endpoint: replica.endpoint }, 'adopted a running replica');
        } else if (record.pid !== null && port !== null && (await processAlive(record.pid)) && (await isModelServerProcess(record.pid, record.modelId, port))) {
          // Ours but not answering yet (starting, or stuck): supervision gives it the start timeout, then replaces it.
          await this.setState(replica, 'starting');
          this.logger.info({ replica: replica.id, model: replica.modelId, pid: replica.pid }, 'adopted a replica that is not healthy yet');
        } else {
          if (record.pid !== null && (await processAlive(record.pid))) {
            this.logger.warn({ replica: replica.id, pid: record.pid }, 'the recorded pid now belongs to another process; leaving it alone and starting the replica anew');
          }
          replica.pid = null;
          replica.lastError = 'not running when the server started';
          await this.restart(replica);
        }
      }
    });
    await Promise.all(finishing);
  }

  async close(options: { keepReplicas?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.ticking;
    const stops = await this.serialize(async () => {
      const all: Array<Promise<void>> = [];
      for (const deployment of this.deployments.values()) {
        if (!options.keepReplicas) for (const replica of [...deployment.replicas.values()]) this.beginStop(deployment, replica);
        all.push(...deployment.stopping);
      }
      this.deployments.clear();
      return all;
    }, true);
    await Promise.all(stops);
  }

  // ---------------------------------------------------------------------------------------------
  // ReplicaDirectory

  /** The model's ready replicas now, from memory: a stopping or unhealthy replica is never here. */
  endpoints(modelId: string): readonly string[] {
    const deployment = this.deployments.get(modelId);
    if (!deployment) return [];
    return [...deployment.replicas.values()].filter((r) => r.state === 'ready' && r.endpoint).sort((a, b) => a.slot - b.slot).map((r) => r.endpoint!);
  }

  // ---------------------------------------------------------------------------------------------
  // Starting and stopping

  private statusOf(deployment: Deployment): DeploymentStatus {
    const endpoints = this.endpoints(deployment.modelId);
    return { modelId: deployment.modelId, modelType: deployment.modelType, desired: deployment.replicas.size, ready: endpoints.length, endpoints: [...endpoints] };
  }

  private async addReplica(deployment: Deployment): Promise<void> {
    const slot = deployment.nextSlot++;
    const replica = startingReplica({ id: `${fileSafe(deployment.modelId)}-${slot}-${randomBytes(3).toString('hex')}`, modelId: deployment.modelId, modelType: deployment.modelType, slot, endpoint: null, port: null, pid: null, restarts: 0 });
    replica.port = await freePort(this.host);
    replica.endpoint = urlOf(this.host, replica.port);
    // The row exists before the process does: a server that dies right after spawning still finds it.
    await this.store.insert({ executor: EXECUTOR, id: replica.id, modelId: replica.modelId, modelType: replica.modelType, endpoint: replica.endpoint, pid: null, state: 'starting', doc: this.docOf(replica) });
    deployment.replicas.set(replica.id, replica);
    await this.spawnProcess(replica);
  }

  /** Starts a slot's process anew on a fresh port. */
  private async restart(replica: Replica): Promise<void> {
    replica.port = await freePort(this.host);
    replica.endpoint = urlOf(this.host, replica.port);
    replica.pid = null;
    replica.child = null;
    replica.restarts += 1;
    replica.state = 'starting';
    await this.store.update(EXECUTOR, replica.id, { endpoint: replica.endpoint, pid: null, state: 'starting', doc: this.docOf(replica) });
    await this.spawnProcess(replica);
  }

  private async spawnProcess(replica: Replica): Promise<void> {
    const args = [this.cli, 'model-server', '--model', replica.modelId, '--host', this.host, '--port', String(replica.port), '--workers', '1', '--size', this.size, ...this.argsFor(replica.modelId)];
    const logFile = join(this.logsDir, `${replica.id}.log`);
    const fd = openSync(logFile, 'a');
    let child: ChildProcess;
    try {
      writeSync(fd, `--- ${new Date().toISOString()} starting ${replica.modelId} on ${replica.endpoint} (restart ${replica.restarts})\n`);
      // The replicas are not tests even when a test starts them: without the runner's marker they run as in production.
      const env = { ...process.env };
      delete env['NODE_TEST_CONTEXT'];
      child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', fd, fd], env });
    } finally {
      closeSync(fd);
    }
    child.unref();
    child.on('error', (error) => this.logger.warn({ replica: replica.id, err: error }, 'replica process error'));
    child.on('exit', (code, signal) => this.logger.debug({ replica: replica.id, pid: child.pid, code, signal }, 'replica process exited'));
    const now = Date.now();
    replica.generation += 1;
    replica.child = child;
    replica.pid = child.pid ?? null;
    replica.startedAt = now;
    replica.unreadySince = now;
    replica.failedChecks = 0;
    replica.state = 'starting';
    if (replica.pid === null) {
      replica.lastError = `could not start ${process.execPath} ${this.cli}`;
      replica.state = 'dead';
    }
    await this.store.update(EXECUTOR, replica.id, { pid: replica.pid, state: replica.state, doc: this.docOf(replica) });
    this.logger.info({ replica: replica.id, model: replica.modelId, pid: replica.pid, endpoint: replica.endpoint, log: logFile }, 'replica started');
  }

  /** Takes the replica out of the endpoints at once, then stops its process and deletes its slot in the background. */
  private beginStop(deployment: Deployment, replica: Replica): void {
    deployment.replicas.delete(replica.id);
    replica.state = 'stopping';
    replica.generation += 1;
    const stop = this.stopReplica(replica)
      .catch((error: Error) => this.logger.error({ replica: replica.id, err: error }, 'stopping a replica failed'))
      .finally(() => deployment.stopping.delete(stop));
    deployment.stopping.add(stop);
  }

  private async stopReplica(replica: StopTarget): Promise<void> {
    await this.store.update(EXECUTOR, replica.id, { state: 'stopping' });
    if (replica.pid !== null && (await this.isOwnProcess(replica))) await this.terminate(replica.pid, replica.child);
    await this.store.delete(EXECUTOR, replica.id);
    this.logger.info({ replica: replica.id, model: replica.modelId, pid: replica.pid }, 'replica stopped');
  }

  /** SIGTERM (the model server finishes requests in flight), then SIGKILL after the grace period. */
  private async terminate(pid: number, child: ChildProcess | null): Promise<void> {
    if (!signalReplica(pid, 'SIGTERM')) return;
    if (await this.exited(pid, child, this.stopGraceMs)) return;
    this.logger.warn({ pid, graceMs: this.stopGraceMs }, 'a replica did not stop within its grace period; killing it');
    signalReplica(pid, 'SIGKILL');
    await this.exited(pid, child, 5000);
  }

  private async exited(pid: number, child: ChildProcess | null, timeoutMs: number): Promise<boolean> {
    if (child && child.pid === pid) {
      if (child.exitCode !== null || child.signalCode !== null) return true;
      return new Promise<boolean>((done) => {
        const timer = setTimeout(() => done(false), timeoutMs);
        child.once('exit', () => {
          clearTimeout(timer);
          done(true);
        });
      });
    }
    return waitForExit(pid, timeoutMs);
  }

  /** Whether a replica's pid still is its model server: the child this executor spawned, or a process that proves it. */
  private async isOwnProcess(replica: StopTarget): Promise<boolean> {
    const pid = replica.pid;
    if (pid === null) return false;
    if (replica.child && replica.child.pid === pid) return replica.child.exitCode === null && replica.child.signalCode === null;
    if (!(await processAlive(pid))) return false;
    if (replica.port !== null && (await isModelServerProcess(pid, replica.modelId, replica.port))) return true;
    const health = replica.endpoint ? await probeHealth(replica.endpoint, this.probeTimeoutMs()) : null;
    return health !== null && health.pid === pid && health.model === replica.modelId;
  }

  /** A slot a previous server was stopping when it went away: stop its process if it still runs, and delete it. */
  private async finishAbandonedStop(record: ReplicaRecord): Promise<void> {
    await this.stopReplica({ id: record.id, modelId: record.modelId, pid: record.pid, port: record.endpoint ? Number(new URL(record.endpoint).port) : null, endpoint: record.endpoint, child: null });
  }

  // ---------------------------------------------------------------------------------------------
  // Supervision

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.ticking = this.tick()
        .catch((error: Error) => this.logger.error({ err: error }, 'replica supervision failed'))
        .finally(() => {
          this.ticking = null;
          this.schedule();
        });
    }, this.healthPollMs);
    this.timer.unref();
  }

  /** One round: probe every replica outside the lock (probes take time), then act on the results under it. */
  private async tick(): Promise<void> {
    const replicas = [...this.deployments.values()].flatMap((d) => [...d.replicas.values()]);
    const probes = await Promise.all(
      replicas.map(async (replica) => {
        const generation = replica.generation;
        if (replica.state === 'dead' || replica.pid === null) return { replica, generation, alive: false, health: null };
        const alive = replica.child && replica.child.pid === replica.pid ? replica.child.exitCode === null && replica.child.signalCode === null : await processAlive(replica.pid);
        const health = alive && replica.endpoint ? await probeHealth(replica.endpoint, this.probeTimeoutMs()) : null;
        return { replica, generation, alive, health };
      }),
    );
    await this.serialize(async () => {
      if (this.closed) return;
      for (const { replica, generation, alive, health } of probes) {
        // Stopped, removed or restarted since the probe: the result is about another process.
        if (replica.generation !== generation || !this.deployments.get(replica.modelId)?.replicas.has(replica.id)) continue;
        try {
          await this.supervise(replica, alive, health);
        } catch (error) {
          this.logger.error({ replica: replica.id, err: error }, 'supervising a replica failed');
        }
      }
    }, true);
  }

  private async supervise(replica: Replica, alive: boolean, health: Health | null): Promise<void> {
    const now = Date.now();
    if (replica.state === 'dead' || !alive) {
      if (replica.state !== 'dead') {
        const quick = now - replica.startedAt < HEALTHY_AFTER_MS;
        replica.failures = quick ? replica.failures + 1 : 0;
        // The first death restarts at once; a replica that keeps dying waits longer each time instead of spinning.
        replica.restartAt = now + (replica.failures <= 1 ? 0 : Math.min(MAX_RESTART_DELAY_MS, 500 * 2 ** (replica.failures - 2)));
        replica.lastError = replica.child?.exitCode != null ? `exited with code ${replica.child.exitCode}` : replica.child?.signalCode ? `killed by ${replica.child.signalCode}` : 'its process is gone';
        await this.setState(replica, 'dead');
        this.logger.warn({ replica: replica.id, model: replica.modelId, pid: replica.pid, reason: replica.lastError, restartInMs: replica.restartAt - now }, 'replica died; restarting it');
      }
      if (now >= replica.restartAt) await this.restart(replica);
      return;
    }
    const healthy = health !== null && health.model === replica.modelId && health.pid === replica.pid;
    if (healthy) {
      replica.failedChecks = 0;
      if (replica.state !== 'ready') {
        replica.failures = 0;
        await this.setState(replica, 'ready');
        this.logger.info({ replica: replica.id, model: replica.modelId, endpoint: replica.endpoint, pid: replica.pid }, 'replica ready');
      }
      return;
    }
    if (replica.state === 'ready') {
      replica.failedChecks += 1;
      if (replica.failedChecks < UNHEALTHY_AFTER_CHECKS) return;
      replica.unreadySince = now;
      replica.lastError = health ? `its /healthz answers for ${health.model} (pid ${health.pid})` : 'its /healthz does not answer';
      await this.setState(replica, 'starting');
      this.logger.warn({ replica: replica.id, model: replica.modelId, reason: replica.lastError }, 'replica unhealthy; out of the endpoints');
      return;
    }
    if (now - replica.unreadySince > this.startTimeoutMs && replica.pid !== null && (await this.isOwnProcess(replica))) {
      // Stuck: kill it; the next round sees it dead and restarts it.
      replica.lastError = `not healthy within ${Math.round(this.startTimeoutMs / 1000)} s`;
      this.logger.warn({ replica: replica.id, model: replica.modelId, pid: replica.pid }, `replica ${replica.lastError}; killing it`);
      signalReplica(replica.pid, 'SIGKILL');
      await this.exited(replica.pid, replica.child, 5000);
      replica.failures += 1;
      replica.restartAt = now;
      await this.setState(replica, 'dead');
    }
  }

  private async setState(replica: Replica, state: ReplicaState, change: { pid?: number } = {}): Promise<void> {
    replica.state = state;
    await this.store.update(EXECUTOR, replica.id, { state, ...change, doc: this.docOf(replica) });
  }

  private docOf(replica: Replica): Record<string, unknown> {
    return { slot: replica.slot, restarts: replica.restarts, lastError: replica.lastError, logFile: join(this.logsDir, `${replica.id}.log`) };
  }

  private probeTimeoutMs(): number {
    return Math.min(2000, Math.max(500, this.healthPollMs * 4));
  }

  private serialize<T>(fn: () => Promise<T>, evenIfClosed = false): Promise<T> {
    const run = async () => {
      if (this.closed && !evenIfClosed) throw new Error('the local executor is closed');
      return fn();
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }
}

/** A replica's /healthz answer, or null when it does not answer 200 with a model and a pid in time. */
async function probeHealth(endpoint: string, timeoutMs: number): Promise<Health | null> {
  try {
    const response = await fetch(`${endpoint}/healthz`, { signal: AbortSignal.timeout(timeoutMs) });
    if (response.status !== 200) {
      await response.body?.cancel();
      return null;
    }
    const body = (await response.json()) as { model?: unknown; pid?: unknown };
    return typeof body.model === 'string' && typeof body.pid === 'number' ? { model: body.model, pid: body.pid } : null;
  } catch {
    return null;
  }
}

/** A model id as a file name part: `ig_feed_mtml:v3` -> `ig_feed_mtml_v3`. */
const fileSafe = (modelId: string) => modelId.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 100);
