import { Accumulator } from './accumulator.js';
import { DEFAULT_WINDOW_MINUTES, evaluateTask, modelStatusOf, type ModelEvaluation } from './evaluation.js';
import { MINUTE_MS } from './eventBatch.js';
import { metricsOf } from './metrics.js';
import type { RegistrySnapshot, SnapshotEntry } from './registrySnapshot.js';
import type { StabilityStore } from './stabilityStore.js';

/** A model is monitored when it is live and has thresholds on at least one task. */
export function isMonitored(entry: SnapshotEntry): boolean {
  return Object.keys(entry.model.thresholds).length > 0;
}

export function windowMinutesOf(entry: SnapshotEntry): number {
  return entry.type.stability?.windowMinutes ?? DEFAULT_WINDOW_MINUTES;
}

/**
 * Evaluates every monitored model at the minute boundary `at`: sums each task's minute buckets over
 * the rolling window [at - window, at) and judges them against the model's thresholds.
 */
export async function evaluateFleet(store: StabilityStore, snapshot: RegistrySnapshot, at: number): Promise<ModelEvaluation[]> {
  const byWindow = new Map<number, SnapshotEntry[]>();
  for (const entry of snapshot.entries.values()) {
    if (!isMonitored(entry)) continue;
    const minutes = windowMinutesOf(entry);
    const group = byWindow.get(minutes) ?? [];
    group.push(entry);
    byWindow.set(minutes, group);
  }
  const evaluations: ModelEvaluation[] = [];
  for (const [minutes, entries] of byWindow) {
    // With one window length (the usual case) one grouped scan serves every model.
    const ids = byWindow.size === 1 ? undefined : entries.map((e) => e.model.id);
    const rows = await store.windowSums(at - minutes * MINUTE_MS, at, ids);
    const sums = new Map(rows.map((r) => [`${r.modelId}\u0000${r.task}`, r.sums]));
    for (const entry of entries) {
      const tasks = entry.type.tasks.map((t) => {
        const snapshotSums = sums.get(`${entry.model.id}\u0000${t.name}`);
        const metrics = metricsOf(snapshotSums ? Accumulator.fromSnapshot(snapshotSums) : new Accumulator());
        return evaluateTask(t.name, metrics, entry.model.thresholds[t.name]);
      });
      evaluations.push({ modelId: entry.model.id, at, windowMinutes: minutes, status: modelStatusOf(tasks), tasks });
    }
  }
  return evaluations.sort((a, b) => (a.modelId < b.modelId ? -1 : 1));
}
