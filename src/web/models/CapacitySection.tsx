import type { EstimateJob } from './apiTypes.js';
import type { Model } from '../../registry/model.js';
import { useApi } from '../api/useApi.js';
import { CapacityCurve } from '../capacity/CapacityCurve.js';
import { fmt } from '../components/format.js';
import { ErrorBox } from '../components/PageState.js';

const STOPPER_LABEL: Record<string, (v: number) => string> = {
  p99Ms: (v) => `p99 ≤ ${fmt.ms(v)}`,
  p50Ms: (v) => `p50 ≤ ${fmt.ms(v)}`,
  maxErrorRate: (v) => `errors ≤ ${fmt.pct(v, 2)}`,
};

/**
 * What one replica holds and what the model costs, where that figure came from (a measurement, or
 * typed in), and the curve of its latest converged capacity estimate.
 */
export function CapacitySection({ model }: { model: Model }) {
  const jobs = useApi<{ items: EstimateJob[] }>(`/models/${encodeURIComponent(model.id)}/capacity/estimates`, {}, 30_000);
  const capacity = model.capacity;
  const running = jobs.data?.items.find((j) => j.status === 'running') ?? null;
  const converged = jobs.data?.items.find((j) => j.status === 'succeeded' && j.result?.converged) ?? null;
  const estimate = capacity?.estimate;
  return (
    <section class="panel model-section" aria-labelledby="capacity-title">
      <h2 id="capacity-title">Capacity profile</h2>
      {capacity ? (
        <>
          <div class="grid cols-4">
            <div class="stat">
              <span class="value">{fmt.num(capacity.maxQpsPerReplica, 4)}</span>
              <span class="label">max QPS per replica</span>
            </div>
            <div class="stat">
              <span class="value">{fmt.int(capacity.replicas)}</span>
              <span class="label">replicas ({fmt.num(capacity.replicas * capacity.maxQpsPerReplica, 4)} QPS in all)</span>
            </div>
            <div class="stat">
              <span class="value">{fmt.num(capacity.unitCost, 4)}</span>
              <span class="label">unit cost: what one replica costs</span>
            </div>
            <div class="stat">
              <span class="value">{fmt.num(capacity.replicas * capacity.unitCost, 4)}</span>
              <span class="label">cost: replicas × unit cost, the units the team's quota counts</span>
            </div>
          </div>
          <h3>Where the per-replica figure comes from</h3>
          {estimate ? (
            <dl class="facts-list">
              <dt>Measured</dt>
              <dd>
                {fmt.time(estimate.measuredAt)} ({fmt.ago(estimate.measuredAt)}), {estimate.verdict.replace(/_/g, ' ')}, {fmt.int(estimate.steps)} load steps in {fmt.duration(estimate.durationMs)}
              </dd>
              <dt>Traffic replayed</dt>
              <dd>
                {estimate.recording} ({fmt.int(estimate.requests)} distinct requests)
              </dd>
              <dt>Replica measured</dt>
              <dd>
                <code>{estimate.target}</code>
              </dd>
              <dt>Stoppers</dt>
              <dd>{Object.entries(estimate.stoppers).map(([k, v]) => (STOPPER_LABEL[k] ?? ((x: number) => `${k} ${x}`))(v)).join(', ') || 'none recorded'}</dd>
            </dl>
          ) : (
            <p class="muted">Entered by hand: no measurement is recorded with it. A capacity estimate replays the type's recorded traffic against one replica to measure it.</p>
          )}
        </>
      ) : (
        <p class="muted">No capacity profile. A launch measures it by replaying the type's recorded traffic against one replica before any traffic moves.</p>
      )}
      {jobs.error && <ErrorBox error={jobs.error} title="Could not read capacity estimates" />}
      {running && (
        <p class="callout" role="status">
          A capacity estimate is running (started {fmt.ago(running.createdAt)} by {running.requestedBy})
          {running.progress ? `: step ${running.progress.step + 1}, ${running.progress.phase} at ${fmt.num(running.progress.offeredQps, 4)} QPS` : ''}.
        </p>
      )}
      {converged?.result && (
        <>
          <h3>Latest converged estimate</h3>
          <p class="muted">
            Run {fmt.time(converged.finishedAt ?? converged.createdAt)} by {converged.requestedBy}, against <code>{converged.request.target}</code>.
          </p>
          <CapacityCurve estimate={converged.result} />
        </>
      )}
      {jobs.data && jobs.data.items.length > 0 && !converged && !running && (
        <p class="muted">
          {jobs.data.items.length} estimate run{jobs.data.items.length === 1 ? '' : 's'}, none converged; the latest {jobs.data.items[0]!.status}
          {jobs.data.items[0]!.error ? `: ${jobs.data.items[0]!.error}` : jobs.data.items[0]!.result ? `: ${jobs.data.items[0]!.result.reason}` : ''}.
        </p>
      )}
    </section>
  );
}
