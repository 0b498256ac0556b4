import type { CapacityEstimate } from '../capacity/estimateCapacity.js';
import type { Model } from '../registry/model.js';
import { ApiClient } from './client.js';

/**
 * Writes a converged estimate made from the CLI to the model's capacity profile, with its provenance,
 * through the API (read, then write with If-Match so a concurrent change is not overwritten).
 */
export async function recordEstimate(client: ApiClient, modelId: string, estimate: CapacityEstimate, unitCost: number | undefined): Promise<{ version: number; seq: number | null }> {
  const path = `/models/${encodeURIComponent(modelId)}`;
  const current = await client.request<Model>('GET', path);
  const capacity = {
    maxQpsPerReplica: estimate.maxQps!,
    replicas: current.body.capacity?.replicas ?? 0,
    unitCost: unitCost ?? current.body.capacity?.unitCost ?? 0,
    estimate: {
      maxQps: estimate.maxQps!,
      verdict: estimate.verdict,
      measuredAt: new Date().toISOString(),
      target: estimate.target,
      recording: estimate.traffic.file ?? 'recording',
      requests: estimate.traffic.requests,
      stoppers: Object.fromEntries(Object.entries(estimate.stoppers).filter(([, v]) => typeof v === 'number')) as Record<string, number>,
      steps: estimate.steps.length,
      durationMs: Math.round(estimate.durationMs),
    },
  };
  const written = await client.request<Model>('PATCH', path, {
    body: { capacity },
    contentType: 'application/merge-patch+json',
    headers: {
      'if-match': current.headers.get('etag') ?? `"${current.body.version}"`,
      'x-change-reason': encodeURIComponent(`capacity measured: ${estimate.maxQps} QPS per replica (${estimate.verdict}) replaying ${estimate.traffic.file ?? 'a recording'}`),
    },
  });
  const seq = Number(written.headers.get('x-change-seq') ?? NaN);
  return { version: written.body.version, seq: Number.isFinite(seq) ? seq : null };
}
