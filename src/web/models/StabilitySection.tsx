import type { TaskEvaluation } from '../../stability/evaluation.js';
import type { ModelPoint, ModelStabilityReport } from './apiTypes.js';
import type { ModelType } from '../../registry/modelType.js';
import { fmt } from '../components/format.js';
import { StatusBadge } from '../components/Badges.js';
import { ErrorBox, Loading } from '../components/PageState.js';
import { TimeChart } from '../components/TimeChart.js';
import { formatBand, formatValue } from '../../stability/bandText.js';
import { RANGES, bandOf, outside, outsideSpans, type Metric, type StabilityRange, type StabilityState } from './stabilityData.js';

const BAND_COLOR = 'rgba(15, 92, 46, 0.12)';
const OUTSIDE_COLOR = 'rgba(155, 28, 28, 0.2)';
const EDGE_COLOR = '#2f8f55';
const METRIC_LABEL: Record<Metric, string> = { calibration: 'Calibration', ne: 'NE' };
const METRIC_COLOR: Record<Metric, string> = { calibration: '#1d4ed8', ne: '#7c3aed' };

const TASK_STATUS_LABEL: Record<TaskEvaluation['status'], { cls: string; label: string }> = {
  ok: { cls: 'ok', label: 'within its bands' },
  unstable: { cls: 'bad', label: 'unstable' },
  insufficient_data: { cls: 'unknown', label: 'insufficient data' },
  no_thresholds: { cls: 'unknown', label: 'no thresholds' },
};

interface Props {
  state: StabilityState;
  range: StabilityRange;
  onRange: (range: StabilityRange) => void;
  type: ModelType;
}

/**
 * Calibration and NE per task over the chosen range, each against its healthy band, with the steps it
 * was outside shaded red; the current value beside each chart; and the model's verdict per step.
 */
export function StabilitySection({ state, range, onRange, type }: Props) {
  const { data, error, loading } = state;
  return (
    <section class="panel model-section" aria-labelledby="stability-title">
      <div class="section-head">
        <h2 id="stability-title">Stability over time</h2>
        <div class="range-buttons" role="group" aria-label="Time range">
          {RANGES.map((r) => (
            <button key={r.key} type="button" class="secondary" aria-pressed={r.key === range.key} onClick={() => onRange(r)}>
              {r.label}
            </button>
          ))}
        </div>
      </div>
      <p class="muted explain">
        <strong>Calibration</strong> is predicted positives / observed positives: 1 is right, above 1 over-predicts. <strong>NE</strong> (normalized entropy) is the log loss
        relative to always predicting the average rate: lower is better, 1 is no better than the average. Green: the healthy band. Red: steps outside it with enough data to
        judge. Refreshed every 30 s.
      </p>
      {error && <ErrorBox error={error} title="Could not read stability" />}
      {loading && !data && <Loading what={`the last ${range.label} of stability`} />}
      {data && <StabilityBody report={data} range={range} type={type} />}
    </section>
  );
}

function StabilityBody({ report, range, type }: { report: ModelStabilityReport; range: StabilityRange; type: ModelType }) {
  const current = report.current;
  const descriptions = new Map(type.tasks.map((t) => [t.name, t.description]));
  return (
    <>
      <p class="source-note">
        {current ? (
          <>
            Latest verdict <StatusBadge status={current.status} /> over the {current.windowMinutes}-minute window ending {fmt.time(current.at)} ({fmt.ago(current.at)}).{' '}
          </>
        ) : (
          <>No verdict in the last 5 minutes (no traffic, or the evaluator is behind). </>
        )}
        <span class="muted">{sourceNote(report)}</span>
      </p>
      <StatusStrip points={report.points} stepMs={report.step} rangeLabel={range.label} />
      {report.tasks.map((task) => {
        const evaluation = current?.tasks.find((t) => t.task === task.task) ?? null;
        const status = evaluation ? TASK_STATUS_LABEL[evaluation.status] : null;
        const x = task.points.map((p) => p.t / 1000);
        return (
          <section key={task.task} class="task-stability" aria-labelledby={`task-${task.task}`}>
            <h3 id={`task-${task.task}`}>
              {task.task} {status && <span class={`badge ${status.cls}`}>{status.label}</span>}
            </h3>
            {descriptions.get(task.task) && <p class="muted task-description">{descriptions.get(task.task)}</p>}
            {!task.thresholds && <p class="muted">No thresholds for this task on this model: it is charted but never judged. Set them or learn them from healthy history.</p>}
            {evaluation?.reason && evaluation.status !== 'no_thresholds' && <p class="muted">Not judged now: {evaluation.reason}.</p>}
            <div class="grid cols-2">
              {(['calibration', 'ne'] as const).map((metric) => {
                const band = bandOf(task.thresholds, metric);
                const spans = outsideSpans(task.points, metric, task.thresholds, report.step, OUTSIDE_COLOR);
                // The band's edges as dashed lines: they mark it, and keep it inside the chart's y range.
                const edges = band ? [...(band.min !== null ? [{ label: 'healthy min', value: band.min }] : []), ...(band.max !== null ? [{ label: 'healthy max', value: band.max }] : [])] : [];
                return (
                  <div key={metric} class="metric-chart">
                    <CurrentValue metric={metric} evaluation={evaluation} band={band} />
                    <TimeChart
                      label={`${task.task} ${METRIC_LABEL[metric].toLowerCase()} over the last ${range.label}${band ? `, healthy ${formatBand(band)}` : ', no thresholds'}; ${spans.length ? `outside its band in ${spans.length} stretch${spans.length === 1 ? '' : 'es'}` : 'never outside its band with enough data to judge'}`}
                      height={180}
                      data={[x, task.points.map((p) => p[metric]), ...edges.map((e) => x.map(() => e.value))]}
                      series={[{ label: `${task.task} ${METRIC_LABEL[metric]}`, color: METRIC_COLOR[metric] }, ...edges.map((e) => ({ label: e.label, color: EDGE_COLOR, dash: true, width: 1 }))]}
                      bands={band ? [{ ...band, color: BAND_COLOR }] : []}
                      spans={spans}
                      yLabel={METRIC_LABEL[metric]}
                    />
                  </div>
                );
              })}
            </div>
          </section>
        );
      })}
    </>
  );
}

function sourceNote(report: ModelStabilityReport): string {
  const evaluated = `points with a verdict are the evaluator's ${report.windowMinutes}-minute windows`;
  switch (report.source) {
    case 'evaluations':
      return `Every point is a verdict: ${evaluated}.`;
    case 'buckets':
      return 'No verdicts were kept for this range: each point sums that step’s own events, unjudged.';
    case 'mixed':
      return `Some steps have no verdict kept: those points sum the step’s own events, unjudged; ${evaluated}.`;
  }
}

function CurrentValue({ metric, evaluation, band }: { metric: Metric; evaluation: TaskEvaluation | null; band: { min: number | null; max: number | null } | null }) {
  const value = evaluation?.metrics[metric] ?? null;
  const judged = evaluation?.status === 'ok' || evaluation?.status === 'unstable';
  const out = value !== null && band !== null && outside(value, band);
  return (
    <p class="current-value">
      <span class="metric-name">{METRIC_LABEL[metric]}</span> now <strong>{value === null ? '—' : formatValue(value)}</strong>
      {band ? <span class="muted"> · healthy {formatBand(band)}</span> : <span class="muted"> · no band</span>}
      {value !== null && band && judged && <span class={`badge ${out ? 'bad' : 'ok'}`}>{out ? (metric === 'ne' ? 'above band' : 'outside band') : 'within band'}</span>}
    </p>
  );
}

type Verdict = 'unstable' | 'stable' | 'insufficient' | 'none';

function verdictOf(p: ModelPoint): Verdict {
  if (p.unstableMinutes > 0 || p.status === 'unstable') return 'unstable';
  if (p.stableMinutes > 0 || p.status === 'stable') return 'stable';
  if (p.status === 'insufficient_data' || p.status === 'unmonitored') return 'insufficient';
  return 'none';
}

const VERDICT_TEXT: Record<Verdict, string> = { unstable: 'unstable', stable: 'stable', insufficient: 'insufficient data', none: 'no verdict' };

/** The model's verdict per step as a row of cells, with the counts in words below it. */
function StatusStrip({ points, stepMs, rangeLabel }: { points: ModelPoint[]; stepMs: number; rangeLabel: string }) {
  const verdicts = points.map(verdictOf);
  const unstable = points.reduce((n, p) => n + p.unstableMinutes, 0);
  const stable = points.reduce((n, p) => n + p.stableMinutes, 0);
  const unjudged = verdicts.filter((v) => v === 'none').length;
  const summary = `Verdicts over the last ${rangeLabel}: ${unstable} minute${unstable === 1 ? '' : 's'} unstable, ${stable} stable; ${unjudged} of ${points.length} steps without a verdict`;
  return (
    <div class="status-strip-box">
      <h3 class="strip-title">Verdict per {stepMs >= 3_600_000 ? 'hour' : stepMs > 60_000 ? `${stepMs / 60_000} minutes` : 'minute'}</h3>
      {/* The cells repeat the summary below, which is what assistive technology reads. */}
      <div class="status-strip" aria-hidden="true">
        {points.map((p, i) => (
          <span key={p.t} class={`cell v-${verdicts[i]}`} title={`${fmt.time(p.t)}: ${VERDICT_TEXT[verdicts[i]!]}${p.unstableMinutes + p.stableMinutes ? ` (${p.unstableMinutes} unstable, ${p.stableMinutes} stable minutes)` : ''}`} />
        ))}
      </div>
      <p class="strip-legend">
        <span class="key v-stable" aria-hidden="true" /> stable <span class="key v-unstable" aria-hidden="true" /> unstable <span class="key v-insufficient" aria-hidden="true" /> insufficient data{' '}
        <span class="key v-none" aria-hidden="true" /> no verdict kept · {summary}.
      </p>
    </div>
  );
}
