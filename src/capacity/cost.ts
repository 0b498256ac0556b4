import { z } from 'zod';

/** What sizing a launch needs: the demand to serve and the safety margins around it. */
export const CostInputSchema = z
  .object({
    peakQps: z.number().positive().describe("the model type's peak demand over the lookback window"),
    headroom: z.number().min(0).max(10).default(0.3).describe('spare capacity on top of the peak: 0.3 is 30%'),
    minReplicas: z.number().int().min(1).max(10_000).default(2).describe('never fewer, for redundancy (N+1 with one replica down)'),
    maxQpsPerReplica: z.number().positive().describe('measured capacity of one replica'),
    unitCost: z.number().nonnegative().describe('cost of one replica'),
  })
  .strict();
export type CostInput = z.input<typeof CostInputSchema>;

export interface Footprint {
  replicas: number;
  cost: number;
}

export interface CostEstimate {
  input: z.output<typeof CostInputSchema>;
  /** Replicas the demand needs: ceil(peak x (1 + headroom) / per-replica capacity), at least minReplicas. */
  replicas: number;
  cost: number;
  /** Share of the fleet's capacity the peak uses: how much load is left before the headroom is gone. */
  utilizationAtPeak: number;
  /** What the current baseline uses, and the change, when there is one to compare with. */
  baseline: Footprint | null;
  delta: Footprint | null;
}

/** Replicas and cost for a candidate, and the change against the baseline's footprint. */
export function estimateCost(input: CostInput, baseline: Footprint | null = null): CostEstimate {
  const parsed = CostInputSchema.parse(input);
  const needed = Math.ceil((parsed.peakQps * (1 + parsed.headroom)) / parsed.maxQpsPerReplica - 1e-9);
  const replicas = Math.max(parsed.minReplicas, needed);
  const cost = replicas * parsed.unitCost;
  return {
    input: parsed,
    replicas,
    cost,
    utilizationAtPeak: parsed.peakQps / (replicas * parsed.maxQpsPerReplica),
    baseline,
    delta: baseline ? { replicas: replicas - baseline.replicas, cost: cost - baseline.cost } : null,
  };
}
