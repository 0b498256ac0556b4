import { conflict } from '../core/errors.js';
import type { Model } from '../registry/model.js';
import type { Executor } from '../serving/executor.js';
import type { ReplicaDirectory } from '../serving/executor.js';
import { estimateCapacity } from './estimateCapacity.js';
import type { RecordingService } from './recordingService.js';
import type { Stoppers } from './stoppers.js';

export interface ReplicaMeasurement {
  maxQpsPerReplica: number;
  source: string;
}

/**
 * A launch's capacity estimate when the candidate has none: one replica of it is started (the first
 * replica the launch needs anyway), the type's latest recording is replayed against it with the
 * type's stoppers, and the answer is the highest rate that held.
 */
export async function measureReplicaCapacity(options: {
  executor: Executor & ReplicaDirectory;
  recordings: RecordingService;
  candidate: Model;
  stoppers: Stoppers;
  readyTimeoutMs?: number;
  stepDurationMs?: number;
}): Promise<ReplicaMeasurement> {
  const { executor, recordings, candidate } = options;
  const [latest] = await recordings.list(candidate.modelType, 1);
  if (!latest) {
    throw conflict(`${candidate.modelType} has no recorded traffic to measure ${candidate.id} with: import one ('modelfleet recordings import ${candidate.modelType} FILE') or let the router record some`);
  }
  const { info, requests } = await recordings.requests(latest.id);
  const status = await executor.status(candidate.id);
  if (!status || status.desired < 1) await executor.apply({ modelId: candidate.id, modelType: candidate.modelType, replicas: 1 });
  const deadline = Date.now() + (options.readyTimeoutMs ?? 120_000);
  let target: string | undefined;
  while (!(target = executor.endpoints(candidate.id)[0])) {
    if (Date.now() > deadline) throw conflict(`no replica of ${candidate.id} became ready to be measured within ${Math.round((options.readyTimeoutMs ?? 120_000) / 1000)} s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const result = await estimateCapacity({ target, requests, trafficFile: info.name, stoppers: options.stoppers, stepDurationMs: options.stepDurationMs ?? 2000, warmupMs: 500 });
  if (result.maxQps === null || !result.converged) throw conflict(`measuring ${candidate.id} did not converge (${result.verdict}): ${result.reason}`);
  return { maxQpsPerReplica: result.maxQps, source: `measured on a local replica: recording ${info.name} (${info.requests} requests), ${result.steps.length} steps, p99 <= ${options.stoppers.p99Ms} ms` };
}
