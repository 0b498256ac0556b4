import cluster, { type Worker } from 'node:cluster';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AggregatorRegistry, type PrometheusContentType } from 'prom-client';
import { invalidInput } from '../core/errors.js';
import type { ModelServerFaults } from './faultInjection.js';
import { saveArtifact, type ArtifactSize, type ModelArtifact } from './modelArtifact.js';
import { urlOf, type ModelServerOptions, type RunningModelServer } from './modelServer.js';

/**
 * The node:cluster primary of a model server with several workers. Workers share the listening
 * port (the primary hands out connections), so one server uses several cores while every process
 * keeps its own copy of the weights and its own event loop. The primary serves nothing itself: it
 * starts workers, restarts one that dies, and gathers all workers' metrics for `/metrics`.
 */

/** Messages between the primary and its workers, over the cluster's IPC channel. */
export const ClusterMessage = {
  metricsRequest: 'modelfleet:model-server:metrics',
  metricsReply: 'modelfleet:model-server:metrics-reply',
  shutdown: 'modelfleet:model-server:shutdown',
  failed: 'modelfleet:model-server:failed',
} as const;

/** What a worker serves; it travels in the worker's environment as JSON. */
export interface WorkerSpec {
  model: string;
  /** Absolute path of the artifact file; absent: generate from model, tasks, size and seed. */
  artifactFile?: string;
  tasks?: string[];
  size?: ArtifactSize;
  seed?: number;
  host: string;
  port: number;
  /** Injected failures and delay (each worker counts its own requests). */
  faults?: ModelServerFaults;
}
/** The environment variable carrying a worker's WorkerSpec. */
export const WORKER_SPEC_ENV = 'MODELFLEET_MODEL_SERVER_WORKER';

const WORKER_ENTRY = fileURLToPath(new URL('./modelServerWorker.js', import.meta.url));
/** A worker that lived less than this is counted as failing to start, and its restart waits longer each time. */
const HEALTHY_AFTER_MS = 10_000;
const MAX_RESTART_DELAY_MS = 10_000;
/** How long close() waits for workers to finish their requests before killing them. */
const STOP_TIMEOUT_MS = 10_000;

let aggregator: AggregatorRegistry<PrometheusContentType> | null = null;

/** Starts `options.workers` workers on one port; `artifact` is the already checked artifact they serve. */
export async function startCluster(options: ModelServerOptions & { host: string; port: number; workers: number }, artifact: ModelArtifact): Promise<RunningModelServer> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  let temporaryDir: string | null = null;
  const spec: WorkerSpec = { model: options.model, host: options.host, port: options.port, ...(options.faults ? { faults: options.faults } : {}) };
  if (typeof options.artifact === 'string') spec.artifactFile = resolve(options.artifact);
  else if (options.artifact) {
    // Weights in memory reach the workers through a file: an IPC message of tens of MiB per worker would be slower.
    temporaryDir = await mkdtemp(join(tmpdir(), 'modelfleet-artifact-'));
    spec.artifactFile = join(temporaryDir, 'artifact.json');
    await saveArtifact(spec.artifactFile, artifact);
  } else {
    // Generation is deterministic, so every worker generates the same weights itself.
    Object.assign(spec, { ...(options.tasks ? { tasks: options.tasks } : {}), ...(options.size ? { size: options.size } : {}), ...(options.seed !== undefined ? { seed: options.seed } : {}) });
  }

  // Worker processes are not tests: drop the test runner's flags that a test process would pass on.
  cluster.setupPrimary({ exec: WORKER_ENTRY, args: [], execArgv: process.execArgv.filter((arg) => !arg.startsWith('--test')) });
  aggregator ??= new AggregatorRegistry();
  const gather = aggregator;

  const workers = new Set<Worker>();
  const startedAt = new Map<Worker, number>();
  const restartTimers = new Set<NodeJS.Timeout>();
  let failures = 0;
  let started = false;
  let closing = false;

  const fork = (): Worker => {
    const worker = cluster.fork({ [WORKER_SPEC_ENV]: JSON.stringify(spec) });
    workers.add(worker);
    startedAt.set(worker, Date.now());
    worker.on('message', (message: { type?: string; id?: number }) => {
      if (message?.type !== ClusterMessage.metricsRequest) return;
      gather.clusterMetrics().then(
        (text) => worker.isConnected() && worker.send({ type: ClusterMessage.metricsReply, id: message.id, text, contentType: gather.contentType }),
        (error: Error) => worker.isConnected() && worker.send({ type: ClusterMessage.metricsReply, id: message.id, error: error.message }),
      );
    });
    worker.on('exit', (code, signal) => {
      workers.delete(worker);
      // During start-up a dead worker fails the start instead (see whenListening).
      if (closing || !started) return;
      const lived = Date.now() - (startedAt.get(worker) ?? 0);
      failures = lived < HEALTHY_AFTER_MS ? failures + 1 : 0;
      // A worker that dies at once would otherwise be restarted in a tight loop, starving the healthy ones.
      const delay = failures ? Math.min(MAX_RESTART_DELAY_MS, 250 * 2 ** (failures - 1)) : 0;
      log(`model-server: worker ${worker.process.pid} exited (${signal ?? `code ${code}`}); starting another${delay ? ` in ${delay} ms` : ''}`);
      const timer = setTimeout(() => {
        restartTimers.delete(timer);
        if (!closing) {
          whenListening(fork()).then(
            // Only when every worker of a port-0 server died at once: the shared handle went with them.
            (now) => now !== port && log(`model-server: every worker had died; now serving on port ${now}, not ${port}`),
            (error: Error) => log(`model-server: a restarted worker failed: ${error.message}`),
          );
        }
      }, delay);
      restartTimers.add(timer);
    });
    return worker;
  };

  const whenListening = (worker: Worker) =>
    new Promise<number>((resolvePort, reject) => {
      let failure = '';
      const onMessage = (message: { type?: string; message?: string }) => {
        if (message?.type === ClusterMessage.failed) failure = message.message ?? '';
      };
      const onExit = (code: number | null, signal: string | null) => {
        worker.off('message', onMessage);
        reject(invalidInput(failure || `a model server worker exited before listening (${signal ?? `code ${code}`})`));
      };
      worker.on('message', onMessage);
      worker.once('exit', onExit);
      worker.once('listening', (address: { port: number }) => {
        worker.off('message', onMessage);
        worker.off('exit', onExit);
        resolvePort(address.port);
      });
    });

  const stop = async () => {
    closing = true;
    for (const timer of restartTimers) clearTimeout(timer);
    restartTimers.clear();
    await Promise.all(
      [...workers].map(
        (worker) =>
          new Promise<void>((done) => {
            if (worker.isDead()) return done();
            const kill = setTimeout(() => worker.process.kill('SIGKILL'), STOP_TIMEOUT_MS);
            worker.once('exit', () => {
              clearTimeout(kill);
              done();
            });
            if (worker.isConnected()) worker.send({ type: ClusterMessage.shutdown });
            else worker.process.kill('SIGTERM');
          }),
      ),
    );
    if (temporaryDir) await rm(temporaryDir, { recursive: true, force: true });
  };

  let port = options.port;
  try {
    // Every worker asks for the same address as given (port 0 included): the primary shares one
    // listening handle per requested address, so the workers all get the port the first one bound,
    // and so does a restarted worker while any other still listens.
    port = await whenListening(fork());
    await Promise.all(Array.from({ length: options.workers - 1 }, () => whenListening(fork())));
    started = true;
  } catch (error) {
    await stop();
    throw error;
  }
  let closed: Promise<void> | null = null;
  return { url: urlOf(options.host, port), port, workers: options.workers, close: () => (closed ??= stop()) };
}
