import type { Launch, LaunchEvent } from '../../launch/launch.js';
import { fmt } from '../components/format.js';
import { TimeChart, type ChartSpan } from '../components/TimeChart.js';
import { timeline, type Timeline } from './launchView.js';

const CANDIDATE = '#1d4ed8';
const BASELINE = '#b45309';
/** Two tints, alternating from one step to the next, so each step's boundaries show on both charts. */
const STEP_TINTS = ['rgba(29, 78, 216, 0.13)', 'rgba(29, 78, 216, 0.05)'];

const stepSpans = (t: Timeline): ChartSpan[] => t.steps.filter((s) => s.step >= 0).map((s) => ({ from: s.from, to: s.to, color: STEP_TINTS[s.step % 2]! }));

/**
 * The shift as it happened: the candidate's and the old model's traffic shares and replicas over
 * time, stepped (they change at moments), each step shaded.
 */
export function LaunchCharts({ launch, events }: { launch: Launch; events: LaunchEvent[] }) {
  if (launch.step < 0 && launch.replicas.candidate === 0) {
    return (
      <section class="panel launch-charts" aria-label="Traffic and replicas over time">
        <h2>Traffic and replicas</h2>
        <p class="muted">Nothing has moved yet: the charts start when the candidate's first replicas do.</p>
      </section>
    );
  }
  const t = timeline(launch, events);
  const spans = stepSpans(t);
  const old = launch.baseline ?? 'other models';
  const steps = t.steps.filter((s) => s.step >= 0).length;
  const stepsSaid = steps ? `; ${steps} step(s) shaded, alternating tints` : '';
  // Room above the highest count the launch will reach; the chart is drawn again only when that changes.
  const replicasTop = Math.max(1, launch.baselineReplicasAtStart, ...launch.plan.map((s) => s.candidateReplicas), ...t.candidateReplicas, ...t.baselineReplicas) + 1;
  return (
    <section class="launch-charts" aria-label="Traffic and replicas over time">
      <div class="grid launch-pair">
        <div class="panel">
          <h2>Traffic share</h2>
          <p class="muted small">Share of the model type's traffic each model serves, in %.</p>
          <TimeChart
            label={`Traffic share over time: ${launch.candidate} now ${fmt.pct(launch.traffic.candidate)}, ${old} ${fmt.pct(launch.traffic.baseline)}${stepsSaid}`}
            data={[t.x, t.candidateShare, t.baselineShare]}
            series={[
              { label: `${launch.candidate} %`, color: CANDIDATE, stepped: true },
              { label: `${old} %`, color: BASELINE, stepped: true, dash: true },
            ]}
            yLabel="% of traffic"
            yRange={[0, 100]}
            spans={spans}
          />
        </div>
        <div class="panel">
          <h2>Replicas</h2>
          <p class="muted small">The candidate scales up before it takes traffic; the old model scales down only after the step's gates pass.</p>
          <TimeChart
            key={replicasTop}
            label={`Replicas over time: ${launch.candidate} now ${launch.replicas.candidate}, ${old} ${launch.replicas.baseline}${stepsSaid}`}
            data={[t.x, t.candidateReplicas, t.baselineReplicas]}
            series={[
              { label: `${launch.candidate} replicas`, color: CANDIDATE, stepped: true },
              { label: `${old} replicas`, color: BASELINE, stepped: true, dash: true },
            ]}
            yLabel="replicas"
            yRange={[0, replicasTop]}
            spans={spans}
          />
        </div>
      </div>
      <p class="muted small chart-note">Shading marks the steps, alternating tints from one step to the next; the plan below says when each started.</p>
    </section>
  );
}
