import type { Launch, LaunchEvent, LaunchState } from '../../launch/launch.js';
import { isTerminal } from '../../launch/launchPhase.js';
import { fmt } from '../components/format.js';

/**
 * What the launch pages derive from a launch and its events: the actions a person may take now, how
 * far it has got, and its traffic and replicas over time.
 */

/** "step 2 of 5", or where it stands when no step is running. */
export function stepText(launch: Pick<Launch, 'step' | 'plan' | 'phase'>): string {
  const n = launch.plan.length;
  if (n === 0) return 'no plan yet';
  if (launch.phase === 'completed') return `${n} of ${n} steps`;
  if (launch.step < 0) return `before step 1 of ${n}`;
  return `step ${launch.step + 1} of ${n}`;
}

const STAGE_TEXT: Record<NonNullable<Launch['stage']>, string> = {
  scale_up: 'scaling the candidate up for this step',
  wait_ready: "waiting for the candidate's new replicas to be ready",
  shift: 'moving traffic to the candidate',
  bake: 'baking: serving at this share before the gates are read',
  gate: 'reading the gates',
  scale_down: 'scaling the old model down to what its remaining traffic needs',
  scale_up_baseline: 'scaling the old model back up before traffic moves back',
  wait_baseline: "waiting for the old model's replicas to be ready",
  shift_back: 'moving traffic back to the old model',
  remove_candidate: "removing the candidate's replicas",
};

/** What the launch is doing within its phase, in words; null when the phase says it all. */
export function stageText(launch: Pick<Launch, 'stage' | 'phase'>): string | null {
  if (!launch.stage || isTerminal(launch.phase)) return null;
  return STAGE_TEXT[launch.stage];
}

/** A change in capacity units with its sign: "+55.34 units", "−1 units". */
export const signedUnits = (n: number | null): string => (n === null ? '—' : `${n > 0 ? '+' : n < 0 ? '−' : '±'}${fmt.num(Math.abs(n), 4)} units`);

/**
 * When a launch ended, or now for one that runs: its elapsed time ends there. Never before its last
 * write, so a browser clock behind the server's does not show a launch running for less than nothing.
 */
export function endMs(launch: Pick<Launch, 'finishedAt' | 'updatedAt'>, now = Date.now()): number {
  return launch.finishedAt ? Date.parse(launch.finishedAt) : Math.max(now, Date.parse(launch.updatedAt));
}

export interface StepSpan {
  /** 0-based step; -1 for the preparation before the first step. */
  step: number;
  from: number;
  to: number;
}

export interface Timeline {
  /** Seconds since epoch, one per moment something moved. */
  x: number[];
  candidateShare: number[];
  baselineShare: number[];
  candidateReplicas: number[];
  baselineReplicas: number[];
  /** When each step ran, seconds since epoch. */
  steps: StepSpan[];
}

const isState = (value: unknown): value is LaunchState => {
  const s = value as Partial<LaunchState> | null;
  return !!s && typeof s.step === 'number' && typeof s.traffic?.candidate === 'number' && typeof s.replicas?.candidate === 'number';
};

/**
 * The launch's traffic shares and replicas over time, from the state each event recorded, then the
 * launch as it is now (until now for a running launch, so the last values hold up to the present).
 * Events written in the same instant collapse to the last of them.
 */
export function timeline(launch: Launch, events: readonly LaunchEvent[], now = Date.now()): Timeline {
  const points: Array<{ t: number; state: LaunchState }> = [];
  for (const event of events) {
    const state = event.detail['state'];
    if (isState(state)) points.push({ t: Date.parse(event.at) / 1000, state });
  }
  const current: LaunchState = { step: launch.step, stage: launch.stage, traffic: launch.traffic, replicas: launch.replicas };
  if (points.length === 0) points.push({ t: Date.parse(launch.createdAt) / 1000, state: current });
  const end = Math.max(endMs(launch, now) / 1000, points[points.length - 1]!.t);
  points.push({ t: end, state: current });

  const out: Timeline = { x: [], candidateShare: [], baselineShare: [], candidateReplicas: [], baselineReplicas: [], steps: [] };
  for (const { t, state } of points) {
    if (out.x.length && out.x[out.x.length - 1] === t) {
      for (const key of ['x', 'candidateShare', 'baselineShare', 'candidateReplicas', 'baselineReplicas'] as const) out[key].pop();
    }
    out.x.push(t);
    out.candidateShare.push(state.traffic.candidate * 100);
    out.baselineShare.push(state.traffic.baseline * 100);
    out.candidateReplicas.push(state.replicas.candidate);
    out.baselineReplicas.push(state.replicas.baseline);
  }
  for (const { t, state } of points) {
    const last = out.steps[out.steps.length - 1];
    if (!last || last.step !== state.step) {
      if (last) last.to = t;
      out.steps.push({ step: state.step, from: t, to: end });
    }
  }
  return out;
}

/** When each step started (0-based step -> epoch ms), from the events' recorded states. */
export function stepStarts(events: readonly LaunchEvent[]): Map<number, number> {
  const starts = new Map<number, number>();
  for (const event of events) {
    const state = event.detail['state'];
    if (isState(state) && state.step >= 0 && !starts.has(state.step)) starts.set(state.step, Date.parse(event.at));
  }
  return starts;
}

/** The team's quota and free units when the launch was estimated, as its estimation event recorded them. */
export function quotaAtEstimate(events: readonly LaunchEvent[]): { quota: number | null; free: number | null } | null {
  const event = events.find((e) => e.from === 'estimating' && 'quota' in e.detail);
  if (!event) return null;
  const num = (v: unknown) => (typeof v === 'number' ? v : null);
  return { quota: num(event.detail['quota']), free: num(event.detail['free']) };
}
