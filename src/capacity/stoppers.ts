import { invalidInput, type ErrorDetail } from '../core/errors.js';
import type { StepMeasurement } from './loadGenerator.js';

/**
 * The limits a rate must hold to count as stable: latency percentiles in milliseconds (measured from
 * the scheduled send time) and the share of failed requests. p99 and the error rate are always set.
 */
export interface Stoppers {
  p99Ms: number;
  maxErrorRate: number;
  p50Ms?: number | null;
  p90Ms?: number | null;
  p999Ms?: number | null;
}

/** Stopper names as steps report them, in the order they are checked and shown. */
export const StopperName = ['p50', 'p90', 'p99', 'p999', 'error_rate'] as const;
export type StopperName = (typeof StopperName)[number];

type LatencyStopper = Exclude<StopperName, 'error_rate'>;
const LATENCY_LIMIT: Record<LatencyStopper, (s: Stoppers) => number | null | undefined> = {
  p50: (s) => s.p50Ms,
  p90: (s) => s.p90Ms,
  p99: (s) => s.p99Ms,
  p999: (s) => s.p999Ms,
};

/**
 * Checks stoppers given by a user and returns them; throws `invalid_input` naming every impossible
 * one (a latency limit that is not a positive number, an error rate outside [0, 1)).
 */
export function checkStoppers(input: Stoppers): Stoppers {
  const problems: ErrorDetail[] = [];
  const latency = (path: string, value: number | null | undefined, required: boolean) => {
    if (value === null || value === undefined) {
      if (required) problems.push({ path, message: 'is required: the latency limit in milliseconds, e.g. 50' });
      return;
    }
    if (!Number.isFinite(value) || value <= 0) problems.push({ path, message: `must be a positive number of milliseconds, not ${value}: no rate can answer in ${value} ms` });
  };
  latency('p99Ms', input.p99Ms, true);
  latency('p50Ms', input.p50Ms, false);
  latency('p90Ms', input.p90Ms, false);
  latency('p999Ms', input.p999Ms, false);
  if (!Number.isFinite(input.maxErrorRate) || input.maxErrorRate < 0 || input.maxErrorRate >= 1) {
    problems.push({ path: 'maxErrorRate', message: `must be at least 0 and below 1 (a share of requests, e.g. 0.01 for 1%), not ${input.maxErrorRate}` });
  }
  if (problems.length) throw invalidInput(`impossible stoppers: ${problems.map((p) => `${p.path} ${p.message.split(':')[0]}`).join('; ')}`, problems);
  return {
    p99Ms: input.p99Ms,
    maxErrorRate: input.maxErrorRate,
    ...(input.p50Ms != null ? { p50Ms: input.p50Ms } : {}),
    ...(input.p90Ms != null ? { p90Ms: input.p90Ms } : {}),
    ...(input.p999Ms != null ? { p999Ms: input.p999Ms } : {}),
  };
}

/** Why a step says nothing about the target: the generator could not offer the rate, or its own limits shaped the result. */
export interface GeneratorLimit {
  /** `cpu`: the generator's thread was too busy (more workers help); `concurrency`: its connections or in-flight cap ran out. */
  kind: 'cpu' | 'concurrency';
  message: string;
}

/** A measured step judged against the stoppers. */
export interface StepJudgement {
  pass: boolean;
  /** Every stopper breached, in {@link StopperName} order. */
  breached: StopperName[];
  /** The first breached stopper, the one a table shows. */
  stopper: StopperName | null;
  /** Set when the generator, not the target, limited the step: then the step must not count for or against the target. */
  generatorLimit: GeneratorLimit | null;
  /** Set when most requests could not even connect: the target fell over (or is not there). */
  targetDown: string | null;
}

/** The generator counts as not offering the rate below this share of it. */
export const MIN_ISSUED_SHARE = 0.95;
/** Event loop utilization at which the generator's own measurements stop being trustworthy. */
export const SATURATED_LOOP = 0.95;

const pct = (x: number) => `${Number((x * 100).toFixed(1))}%`;
const round = (x: number) => Number(x.toPrecision(3));

/** The measurements a judgement reads; a subset of the generator's {@link StepMeasurement}. */
export type JudgedMeasurement = Pick<
  StepMeasurement,
  'offeredQps' | 'issuedQps' | 'scheduled' | 'latency' | 'wireLatency' | 'sendLag' | 'errors' | 'errorRate' | 'errorsByClass' | 'errorSamples' | 'maxInFlight' | 'inFlightLimit' | 'connections' | 'generator'
>;

/**
 * Judges a step. A breach counts against the target only when the target's own part breaches it:
 * latencies timed from when each request went out on a connection, and the errors the target caused.
 * When those hold and the breach came from time spent inside the generator (sent late, waiting for a
 * connection, dropped at the in-flight cap), or the generator could not keep to the schedule, or its
 * event loop was saturated, the step is marked generator-limited instead.
 */
export function judgeStep(m: JudgedMeasurement, stoppers: Stoppers): StepJudgement {
  const breached: StopperName[] = [];
  const targetBreached: StopperName[] = [];
  for (const name of StopperName) {
    if (name === 'error_rate') {
      if (m.errorRate > stoppers.maxErrorRate) breached.push(name);
      const targetErrors = m.scheduled ? (m.errors - m.errorsByClass.overload) / m.scheduled : 0;
      if (targetErrors > stoppers.maxErrorRate) targetBreached.push(name);
      continue;
    }
    const limit = LATENCY_LIMIT[name](stoppers);
    if (limit === null || limit === undefined) continue;
    if (m.latency[name] > limit) breached.push(name);
    if (m.wireLatency[name] > limit) targetBreached.push(name);
  }
  const pass = breached.length === 0;
  const stopper = breached[0] ?? null;

  let targetDown: string | null = null;
  const connectionErrors = m.errorsByClass.connection;
  if (m.scheduled && connectionErrors >= m.scheduled / 2) {
    targetDown = `${connectionErrors} of ${m.scheduled} requests could not connect (${m.errorSamples[0] ?? 'connection error'}): the target stopped accepting connections`;
  }

  let generatorLimit: GeneratorLimit | null = null;
  const utilization = m.generator.eventLoopUtilization;
  const moreCores = 'add worker threads (--workers) or run the generator where more cores are free';
  if (m.issuedQps < m.offeredQps * MIN_ISSUED_SHARE) {
    generatorLimit = {
      kind: 'cpu',
      message: `the generator sent only ${round(m.issuedQps)} of the ${round(m.offeredQps)} requests per second offered (its event loop was ${pct(utilization)} busy): ${moreCores}`,
    };
  } else if (!pass && utilization >= SATURATED_LOOP) {
    generatorLimit = {
      kind: 'cpu',
      message: `the generator's event loop was saturated (${pct(utilization)} busy), so the latencies it measured include its own delays: ${moreCores}`,
    };
  } else if (!pass && !targetBreached.length) {
    const wire = stopper === 'error_rate' ? '' : `; ${stopper} was ${round(m.latency[stopper!])} ms from the scheduled send but ${round(m.wireLatency[stopper!])} ms on the wire`;
    const needed = Math.ceil((m.offeredQps * Math.max(stoppers.p99Ms, stoppers.p999Ms ?? 0)) / 1000);
    if (m.maxInFlight >= m.inFlightLimit) {
      generatorLimit = {
        kind: 'concurrency',
        message: `the target answered within the stoppers, but the generator's cap of ${m.inFlightLimit} requests in flight was reached and ${m.errorsByClass.overload} requests were not sent${wire}: raise --max-in-flight to at least rate x latency limit (about ${needed} here)`,
      };
    } else if (m.connections !== null && m.maxInFlight > m.connections) {
      generatorLimit = {
        kind: 'concurrency',
        message: `the target answered within the stoppers, but requests waited for one of the generator's ${m.connections} connections${wire}: raise --connections to at least rate x latency limit (about ${needed} here)`,
      };
    } else {
      generatorLimit = {
        kind: 'cpu',
        message: `the target answered within the stoppers, but requests left the generator late (send lag p99 ${round(m.sendLag.p99)} ms${wire}): ${moreCores}`,
      };
    }
  }
  return { pass, breached, stopper, generatorLimit, targetDown };
}
