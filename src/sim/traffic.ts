import type { Rng } from './random.js';

/**
 * Synthetic labeled predictions for the demo, tests and benchmarks. Each (model, task) has a base
 * positive rate; every event draws a true probability q around it (logit-normal, so some items are
 * far likelier than others and the model has something to rank), the label is Bernoulli(q), and a
 * healthy model predicts q itself: calibrated, with NE well below 1. Faults distort that.
 */

export interface TaskTraffic {
  model: string;
  task: string;
  /** Typical positive rate: the median of the true probabilities (their mean is higher, as the spread is skewed). */
  ctr: number;
  /** Events per minute. */
  perMinute: number;
}

/** Ways a model goes bad in production, as the stability SLO must catch them. */
export type Fault =
  | { kind: 'scale'; factor: number }
  | { kind: 'noisy_labels'; flipRate: number }
  | { kind: 'constant'; p: number };

/** A columnar batch, the wire form of POST /api/v1/events. */
export interface ColumnarBatch {
  model: string;
  task: string;
  p: number[];
  y: number[];
  ts: number[];
}

/** Spread of logit(q) around logit(ctr): 1.6 gives a healthy NE of about 0.75. */
const LOGIT_SPREAD = 1.6;

function gaussian(rng: Rng): number {
  // Box-Muller; 1 - u keeps the log finite.
  const u = 1 - rng.next();
  const v = rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

const logit = (p: number) => Math.log(p / (1 - p));
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/**
 * The events of one (model, task) over [start, start + minutes), spread evenly in time. The centre is
 * shifted so the mean of q stays at `ctr` despite the spread.
 */
export function simulateTraffic(rng: Rng, traffic: TaskTraffic, start: number, minutes: number, fault: Fault | null = null): ColumnarBatch {
  const n = Math.max(0, Math.round(traffic.perMinute * minutes));
  const centre = logit(traffic.ctr);
  const p: number[] = new Array(n);
  const y: number[] = new Array(n);
  const ts: number[] = new Array(n);
  const span = minutes * 60_000;
  for (let i = 0; i < n; i++) {
    const q = Math.min(0.999, Math.max(1e-4, sigmoid(centre + LOGIT_SPREAD * gaussian(rng))));
    let label = rng.next() < q ? 1 : 0;
    let predicted = q;
    if (fault?.kind === 'scale') predicted = Math.min(1, q * fault.factor);
    else if (fault?.kind === 'noisy_labels' && rng.next() < fault.flipRate) label = 1 - label;
    else if (fault?.kind === 'constant') predicted = fault.p;
    p[i] = predicted;
    y[i] = label;
    ts[i] = start + Math.floor((i * span) / n);
  }
  return { model: traffic.model, task: traffic.task, p, y, ts };
}

/** A plausible traffic profile for every task of the given models: rates 3-15%, volume by role. */
export function trafficFor(rng: Rng, models: ReadonlyArray<{ id: string; tasks: readonly string[] }>, perMinute = 300): TaskTraffic[] {
  return models.flatMap((m) => m.tasks.map((task) => ({ model: m.id, task, ctr: Math.round(rng.float(0.03, 0.15) * 1000) / 1000, perMinute })));
}
