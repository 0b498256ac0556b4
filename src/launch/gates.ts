import type { ModelTraffic } from '../serving/trafficStats.js';

/**
 * The health gates a shifting step must pass before the old model scales down. A failing gate rolls
 * the launch back. A gate with nothing to judge (no requests reached the candidate, no labels yet)
 * does not fail the step, and says so.
 */

export const GateName = ['error_rate', 'p99_latency', 'stability'] as const;
export type GateName = (typeof GateName)[number];

export interface GateResult {
  name: GateName;
  pass: boolean;
  /** What was measured and the limit it was held to; null when there was nothing to measure. */
  value: number | null;
  limit: number | null;
  detail: string;
}

export interface GateInput {
  candidate: ModelTraffic;
  /** The old model over the same window; null when the type has no baseline serving. */
  baseline: ModelTraffic | null;
  /** The candidate's error rate may exceed the baseline's by at most this. */
  errorRateMargin: number;
  /** The model type's latency objective. */
  p99Ms: number;
  /** The candidate's stability verdict now, or null when no labels flow for it. */
  stability: 'stable' | 'unstable' | 'insufficient_data' | null;
  /** Fewest candidate requests in the window for the error and latency gates to judge. */
  minRequests?: number;
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

export function evaluateGates(input: GateInput): GateResult[] {
  const minRequests = input.minRequests ?? 20;
  const c = input.candidate;
  const judged = c.requests >= minRequests;
  const results: GateResult[] = [];

  const baselineRate = input.baseline && input.baseline.requests > 0 ? input.baseline.errorRate : 0;
  const errorLimit = baselineRate + input.errorRateMargin;
  results.push(
    judged
      ? {
          name: 'error_rate',
          pass: c.errorRate <= errorLimit + 1e-12,
          value: c.errorRate,
          limit: errorLimit,
          detail: `candidate ${pct(c.errorRate)} of ${c.requests} requests failed; limit ${pct(errorLimit)} (baseline ${pct(baselineRate)} + margin ${pct(input.errorRateMargin)})`,
        }
      : { name: 'error_rate', pass: true, value: null, limit: errorLimit, detail: `only ${c.requests} candidate request(s) in the window (fewer than ${minRequests}): not judged` },
  );
  results.push(
    judged && c.p99Ms !== null
      ? { name: 'p99_latency', pass: c.p99Ms <= input.p99Ms, value: c.p99Ms, limit: input.p99Ms, detail: `candidate p99 ${c.p99Ms.toFixed(1)} ms; objective ${input.p99Ms} ms` }
      : { name: 'p99_latency', pass: true, value: null, limit: input.p99Ms, detail: 'too few candidate requests to judge latency' },
  );
  results.push(
    input.stability === 'unstable'
      ? { name: 'stability', pass: false, value: null, limit: null, detail: "the candidate's predictions are unstable (calibration or NE outside the healthy band)" }
      : { name: 'stability', pass: true, value: null, limit: null, detail: input.stability === null ? 'no labels flow for the candidate yet: not judged' : `stability: ${input.stability}` },
  );
  return results;
}

export const gatesPass = (results: readonly GateResult[]): boolean => results.every((r) => r.pass);
