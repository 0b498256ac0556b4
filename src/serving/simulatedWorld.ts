/**
 * How a simulated model serves its traffic: from the load, its ready replicas and one replica's
 * capacity, the utilization, the share of requests that fail and the latency. Pure and
 * deterministic, so a simulated launch gives the same verdicts every run.
 */

/** Latency of an idle replica and the most a saturated one adds, as a factor. */
export const SIMULATED_LATENCY = { p50BaseMs: 8, p99BaseMs: 25, maxFactor: 40 } as const;

export interface ServingConditions {
  /** Requests per second sent to the model. */
  loadQps: number;
  readyReplicas: number;
  /** Requests per second one replica serves at its latency target. */
  capacityQps: number;
  /** Share of requests the model fails by itself (a bad candidate), from 0 to 1. */
  faultErrorRate: number;
}

export interface ServingOutcome {
  /** load / (ready replicas x capacity); Infinity with no capacity. */
  utilization: number;
  /** Share of requests that fail: the overflow above full utilization, then the model's own faults on the rest. */
  errorShare: number;
  p50Ms: number;
  p99Ms: number;
}

/**
 * Queueing delay stays small until a replica is busy most of the time, then grows without bound
 * near saturation: 1 + u^4 / (1 - u) (about 1.1 at u = 0.5, 2.5 at 0.77 (sized with 30% headroom), 7.6 at 0.9), capped. The
 * tail grows twice as fast as the median.
 */
function queueingDelay(utilization: number): number {
  if (utilization >= 1) return Infinity;
  return utilization ** 4 / (1 - utilization);
}

export function servingOutcome(conditions: ServingConditions): ServingOutcome {
  const { loadQps, readyReplicas, capacityQps } = conditions;
  const fault = Math.min(1, Math.max(0, conditions.faultErrorRate));
  const capacity = readyReplicas * capacityQps;
  const utilization = loadQps <= 0 ? 0 : capacity > 0 ? loadQps / capacity : Infinity;
  const overflow = utilization > 1 ? 1 - 1 / utilization : 0;
  const errorShare = capacity > 0 ? overflow + (1 - overflow) * fault : loadQps > 0 ? 1 : 0;
  const delay = queueingDelay(utilization);
  const { p50BaseMs, p99BaseMs, maxFactor } = SIMULATED_LATENCY;
  return {
    utilization,
    errorShare,
    p50Ms: p50BaseMs * Math.min(maxFactor, 1 + delay / 2),
    p99Ms: p99BaseMs * Math.min(maxFactor, 1 + delay),
  };
}
