import cluster from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import { DomainError } from '../core/errors.js';
import { ClusterMessage, WORKER_SPEC_ENV, type WorkerSpec } from './modelServerCluster.js';
import { listenModelServer, ModelServerMetrics, resolveArtifact, type MetricsSource, type RunningModelServer } from './modelServer.js';
import { Scorer } from './scorer.js';

/**
 * Entry point of a model server's cluster worker (started by modelServerCluster.ts, never by hand):
 * loads the artifact named in its environment, serves on the port the primary holds, and stops when
 * the primary says so.
 */

/** `/metrics` in a worker: the primary gathers every worker's registry, so a scrape sees the whole server. */
function metricsFromPrimary(): MetricsSource {
  let nextId = 0;
  const pending = new Map<number, { resolve: (value: { contentType: string; text: string }) => void; reject: (error: Error) => void }>();
  process.on('message', (message: { type?: string; id?: number; text?: string; contentType?: string; error?: string }) => {
    if (message?.type !== ClusterMessage.metricsReply || message.id === undefined) return;
    const request = pending.get(message.id);
    pending.delete(message.id);
    if (!request) return;
    if (message.error !== undefined) request.reject(new Error(message.error));
    else request.resolve({ contentType: message.contentType ?? 'text/plain', text: message.text ?? '' });
  });
  return () =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error('the cluster primary did not answer within 5 s'));
      }, 5000);
      pending.set(id, {
        resolve: (value) => (clearTimeout(timer), resolve(value)),
        reject: (error) => (clearTimeout(timer), reject(error)),
      });
      process.send!({ type: ClusterMessage.metricsRequest, id });
    });
}

async function runWorker(): Promise<void> {
  const raw = process.env[WORKER_SPEC_ENV];
  if (!cluster.isWorker || !raw) throw new Error(`modelServerWorker runs as a model server's cluster worker only (${WORKER_SPEC_ENV} unset)`);
  const spec = JSON.parse(raw) as WorkerSpec;
  const artifact = await resolveArtifact({
    model: spec.model,
    ...(spec.artifactFile ? { artifact: spec.artifactFile } : {}),
    ...(spec.tasks ? { tasks: spec.tasks } : {}),
    ...(spec.size ? { size: spec.size } : {}),
    ...(spec.seed !== undefined ? { seed: spec.seed } : {}),
  });
  const metrics = new ModelServerMetrics(artifact);
  // Answers the primary's requests for this worker's metrics (prom-client's cluster protocol).
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([metrics.registry]);
  const running: RunningModelServer = await listenModelServer(new Scorer(artifact), { host: spec.host, port: spec.port, metrics, metricsSource: metricsFromPrimary(), ...(spec.faults ? { faults: spec.faults } : {}) });

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void running.close().then(() => process.exit(0));
  };
  process.on('message', (message: { type?: string }) => {
    if (message?.type === ClusterMessage.shutdown) stop();
  });
  // Ctrl-C reaches every process of the terminal's group: finish requests in flight rather than die mid-answer.
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

runWorker().catch((error: unknown) => {
  const message = error instanceof DomainError ? error.message : `${(error as Error)?.message ?? error}`;
  if (process.send) process.send({ type: ClusterMessage.failed, message }, () => process.exit(1));
  else {
    process.stderr.write(`model-server worker: ${message}\n`);
    process.exit(1);
  }
});
