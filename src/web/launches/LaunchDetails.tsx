import type { CapacityEstimate } from '../../capacity/estimateCapacity.js';
import type { Launch, LaunchEvent } from '../../launch/launch.js';
import { isTerminal } from '../../launch/launchPhase.js';
import { useApi } from '../api/useApi.js';
import { PhaseBadge } from '../components/Badges.js';
import { fmt, modelHref } from '../components/format.js';
import { CapacityCurve } from '../capacity/CapacityCurve.js';
import { quotaAtEstimate, signedUnits, stepStarts } from './launchView.js';

type StepStatus = 'done' | 'current' | 'to come' | 'skipped' | 'stopped here';
const STEP_STATUS_CLASS: Record<StepStatus, string> = { done: 'ok', current: 'active', 'to come': 'unknown', skipped: 'unknown', 'stopped here': 'bad' };

function stepStatus(launch: Launch, i: number): StepStatus {
  if (launch.phase === 'completed' || launch.phase === 'finalizing') return launch.promotedBy && i < launch.step && !launch.gates.some((g) => g.step === i) ? 'skipped' : 'done';
  const running = launch.phase === 'shifting' || (launch.phase === 'paused' && launch.pausedFrom === 'shifting');
  if (i < launch.step) return launch.promotedBy && !launch.gates.some((g) => g.step === i) ? 'skipped' : 'done';
  if (i === launch.step) return running ? 'current' : 'stopped here';
  return isTerminal(launch.phase) || launch.phase === 'rolling_back' ? 'skipped' : 'to come';
}

/** The shift plan, step by step: what each step moves and holds, and how far the launch has got. */
export function PlanTable({ launch, events }: { launch: Launch; events: LaunchEvent[] }) {
  const starts = stepStarts(events);
  return (
    <section class="panel" aria-labelledby="plan-title">
      <h2 id="plan-title">Plan</h2>
      {launch.plan.length === 0 ? (
        <p class="muted">{launch.planNote ?? (launch.phase === 'estimating' ? 'The plan comes with the estimate.' : 'No plan: the launch did not get past its estimate.')}</p>
      ) : (
        <>
          <p class="muted small">
            {launch.planNote}. The candidate takes each step's share of the {fmt.pct(launch.baselineShare)} of traffic {launch.baseline ?? 'the old models'} held at the start; each step bakes {launch.settings.bakeSeconds} s before its
            gates are read.
          </p>
          <table>
            <caption class="visually-hidden">Steps of the traffic shift</caption>
            <thead>
              <tr>
                <th scope="col">Step</th>
                <th scope="col" class="num">Candidate's part</th>
                <th scope="col" class="num">Share of the type</th>
                <th scope="col" class="num">Candidate replicas</th>
                <th scope="col" class="num">Old model keeps</th>
                <th scope="col" class="num">Peak units</th>
                <th scope="col">Status</th>
                <th scope="col">Started</th>
              </tr>
            </thead>
            <tbody>
              {launch.plan.map((s, i) => {
                const status = stepStatus(launch, i);
                return (
                  <tr key={i} aria-current={status === 'current' ? 'step' : undefined}>
                    <th scope="row">{i + 1}</th>
                    <td class="num">{fmt.pct(s.share, 0)}</td>
                    <td class="num">{fmt.pct(launch.baselineShare * s.share)}</td>
                    <td class="num">{s.candidateReplicas}</td>
                    <td class="num">{launch.baseline ? s.baselineReplicas : '—'}</td>
                    <td class="num">{fmt.num(s.peakUnits, 4)}</td>
                    <td>
                      <span class={`badge ${STEP_STATUS_CLASS[status]}`}>{status}</span>
                    </td>
                    <td>{starts.has(i) ? fmt.time(starts.get(i)!) : '—'}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

type GateRecord = Launch['gates'][number];
const GATES: readonly GateRecord['name'][] = ['error_rate', 'p99_latency', 'stability'];

/** One gate as read: pass or fail, the value against its limit, and what the limit is made of. */
function GateCell({ gate, launch }: { gate: GateRecord | undefined; launch: Launch }) {
  if (!gate) return <td class="muted">—</td>;
  const badge = gate.pass ? <span class="badge ok">pass</span> : <span class="badge bad">fail</span>;
  let measured: string | null = null;
  let why = gate.detail;
  if (gate.value !== null && gate.limit !== null && gate.name === 'error_rate') {
    measured = `${fmt.pct(gate.value, 2)} ${gate.pass ? '≤' : '>'} ${fmt.pct(gate.limit, 2)}`;
    why = `limit: the baseline's ${fmt.pct(Math.max(0, gate.limit - launch.settings.errorRateMargin), 2)} + margin ${fmt.pct(launch.settings.errorRateMargin, 2)}`;
  } else if (gate.value !== null && gate.limit !== null && gate.name === 'p99_latency') {
    measured = `${fmt.ms(gate.value)} ${gate.pass ? '≤' : '>'} ${fmt.ms(gate.limit)}`;
    why = "limit: the type's latency objective";
  }
  return (
    <td>
      {badge} {measured && <span class="gate-value">{measured}</span>}
      <div class="muted small">{why}</div>
    </td>
  );
}

/** Each step's health gates as they were read, newest step first, each value against its limit. */
export function GatesTable({ launch }: { launch: Launch }) {
  const steps = [...new Set(launch.gates.map((g) => g.step))].sort((a, b) => b - a);
  const baking = launch.stage === 'bake' && launch.waitUntil !== null && (launch.phase === 'shifting' || launch.phase === 'paused');
  return (
    <section class="panel" aria-labelledby="gates-title">
      <h2 id="gates-title">Health gates</h2>
      <p class="muted small">
        Read after each step's bake: the candidate's error rate against the baseline's plus a {fmt.pct(launch.settings.errorRateMargin, 2)} margin, its p99 against the {launch.settings.p99Ms} ms objective, and its prediction
        stability (calibration and NE within their healthy bands). A failing gate rolls the launch back.
      </p>
      {baking && (
        <p class="callout">
          Step {launch.step + 1} is baking: its gates are read at {fmt.time(launch.waitUntil)}
          {launch.phase === 'paused' ? ' once the launch is resumed (the bake starts over)' : ''}.
        </p>
      )}
      {steps.length === 0 ? (
        <p class="muted">No gate has been read yet.</p>
      ) : (
        <table>
          <caption class="visually-hidden">Gate results by step</caption>
          <thead>
            <tr>
              <th scope="col">Step</th>
              <th scope="col">Read</th>
              <th scope="col">Error rate</th>
              <th scope="col">p99 latency</th>
              <th scope="col">Stability</th>
            </tr>
          </thead>
          <tbody>
            {steps.map((step) => {
              const gates = launch.gates.filter((g) => g.step === step);
              return (
                <tr key={step}>
                  <th scope="row">{step + 1}</th>
                  <td class="nowrap">{fmt.time(gates[0]!.at)}</td>
                  {GATES.map((name) => (
                    <GateCell key={name} launch={launch} gate={gates.find((g) => g.name === name)} />
                  ))}
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

const DECISION: Record<NonNullable<Launch['approval']>['decision'], { cls: string; text: string }> = {
  auto: { cls: 'ok', text: 'approved automatically' },
  needs_approval: { cls: 'warn', text: 'needs a person' },
  refused: { cls: 'bad', text: 'refused' },
};

/** How the launch was sized and approved: capacity, demand, replicas, cost against the baseline, the decision and the quota then. */
export function EstimatePanel({ launch, events }: { launch: Launch; events: LaunchEvent[] }) {
  const e = launch.estimate;
  const a = launch.approval;
  const pool = quotaAtEstimate(events);
  return (
    <section class="panel" aria-labelledby="estimate-title">
      <h2 id="estimate-title">Estimate and approval</h2>
      {!e ? (
        <p class="muted">{launch.phase === 'estimating' ? "Measuring the candidate's capacity and the type's demand…" : 'No estimate was made.'}</p>
      ) : (
        <dl class="facts">
          <dt>Capacity per replica</dt>
          <dd>
            {fmt.num(e.maxQpsPerReplica, 4)} QPS <span class="muted">from {e.capacitySource}</span>
          </dd>
          <dt>Peak demand</dt>
          <dd>
            {fmt.num(e.peakQps, 4)} QPS <span class="muted">from {e.demandSource}</span>
          </dd>
          <dt>Replicas</dt>
          <dd>
            {e.replicas} <span class="muted">(peak plus {fmt.pct(launch.settings.headroom, 0)} headroom, at least {launch.settings.minReplicas})</span>
          </dd>
          <dt>Cost</dt>
          <dd>
            {fmt.num(e.cost, 4)} units <span class="muted">({fmt.num(e.unitCost, 4)} a replica)</span>
          </dd>
          <dt>Against the baseline</dt>
          <dd>
            {e.baseline ? (
              <>
                <strong class={e.costChange !== null && e.costChange > 0 ? 'cost-up' : 'cost-down'}>{signedUnits(e.costChange)}</strong>{' '}
                <span class="muted">
                  ({e.baseline.model}: {e.baseline.replicas} replicas, {fmt.num(e.baseline.cost, 4)} units)
                </span>
              </>
            ) : (
              <span class="muted">no baseline footprint to compare with</span>
            )}
          </dd>
          {launch.expectedGain && (
            <>
              <dt>Expected gain</dt>
              <dd>{launch.expectedGain}</dd>
            </>
          )}
        </dl>
      )}
      {a && (
        <dl class="facts">
          <dt>Approval</dt>
          <dd>
            <span class={`badge ${DECISION[a.decision].cls}`}>{DECISION[a.decision].text}</span> <span class="muted">policy {a.policy.replace(/_/g, ' ')}</span>
          </dd>
          <dt>Why</dt>
          <dd>{a.reason}</dd>
          <dt>Decided</dt>
          <dd>{a.approvedBy ? `by ${a.approvedBy}, ${fmt.time(a.approvedAt)}` : a.decision === 'needs_approval' && launch.phase === 'awaiting_approval' ? 'waiting for a member of the team or an admin' : '—'}</dd>
          <dt>Quota then</dt>
          <dd>
            {pool === null ? '—' : pool.quota === null ? `${launch.team} has no quota` : `${fmt.num(pool.free, 4)} of ${fmt.num(pool.quota, 4)} units free in ${launch.team}'s pool`}
            {launch.reservedUnits > 0 && <span class="muted"> · this launch holds {fmt.num(launch.reservedUnits, 4)} units while it runs</span>}
          </dd>
        </dl>
      )}
    </section>
  );
}

interface EstimateJobView {
  id: string;
  status: 'running' | 'succeeded' | 'failed';
  finishedAt: string | null;
  result: (Pick<CapacityEstimate, 'steps' | 'stoppers' | 'maxQps' | 'verdict' | 'reason'> & { converged: boolean }) | null;
}

/** The candidate's latest converged capacity estimate, when it has one: how its latency grows with load. */
export function CandidateCapacity({ launch }: { launch: Launch }) {
  const jobs = useApi<{ items: EstimateJobView[] }>(`/models/${encodeURIComponent(launch.candidate)}/capacity/estimates`);
  const job = jobs.data?.items.find((j) => j.status === 'succeeded' && j.result?.converged);
  if (!job?.result) return null;
  return (
    <section class="panel" aria-labelledby="curve-title">
      <h2 id="curve-title">Measured capacity of {launch.candidate}</h2>
      <p class="muted small">
        The capacity estimate of {fmt.time(job.finishedAt)}: one replica under recorded traffic at rising rates. <a href={modelHref(launch.candidate)}>The model's page</a> has every run.
      </p>
      <CapacityCurve estimate={job.result} />
    </section>
  );
}

/** Every move of the launch, newest first, with who made it and why. */
export function EventLog({ events }: { events: LaunchEvent[] }) {
  const newest = [...events].reverse();
  return (
    <section class="panel" aria-labelledby="events-title">
      <h2 id="events-title">Event log</h2>
      <table class="event-log">
        <caption class="visually-hidden">Launch events, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Actor</th>
            <th scope="col">Phase</th>
            <th scope="col">What happened</th>
          </tr>
        </thead>
        <tbody>
          {newest.map((e) => (
            <tr key={e.seq}>
              <td class="nowrap">{fmt.time(e.at)}</td>
              <td class="nowrap">{e.actor}</td>
              <td class="nowrap">
                {e.from && e.from !== e.to ? (
                  <>
                    <PhaseBadge phase={e.from} /> <span aria-hidden="true">→</span>
                    <span class="visually-hidden">to</span> <PhaseBadge phase={e.to} />
                  </>
                ) : (
                  <PhaseBadge phase={e.to} />
                )}
              </td>
              <td>{e.reason}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
