/**
 * The steps of a traffic shift, planned so the launch never holds more capacity than its team may.
 *
 * At step k the candidate first scales up to its share of the replicas it will need, then takes that
 * share of the traffic, and only then does the old model scale down to what its remaining traffic
 * needs (make before break). So just before each shift both models hold replicas at once: the
 * candidate's new count and the old model's count from the step before. That total must fit in the
 * team's free quota plus what the old model already holds. When the default step does not fit, the
 * step shrinks until it does; when not even the smallest one fits, the launch is refused with the numbers.
 */

export interface ShiftPlanInput {
  /** Replicas the candidate needs at full traffic, and the cost of one. */
  candidateReplicas: number;
  candidateUnitCost: number;
  /** Replicas the old model (the baseline) holds now, and the cost of one; 0 when the type has no baseline running. */
  baselineReplicas: number;
  baselineUnitCost: number;
  /** Share of the traffic moved per step, (0, 1]; 0.2 moves it in five steps. */
  stepShare: number;
  /** The smallest step the plan may shrink to when capacity is short. */
  minStepShare?: number;
  /** Capacity units the team has free (quota - used - reserved by other launches); null: no quota. */
  freeUnits: number | null;
}

export interface ShiftStep {
  /** Share of the old model's traffic the candidate holds after this step, 0-1. */
  share: number;
  candidateReplicas: number;
  /** What the old model keeps once this step has baked. */
  baselineReplicas: number;
  /** Capacity units both hold together just before this step's traffic moves. */
  peakUnits: number;
}

export type ShiftPlan =
  | {
      ok: true;
      steps: ShiftStep[];
      /** The most units the launch holds beyond what the old model held at the start: what it reserves from the pool. */
      reservedUnits: number;
      /** Some steps were made smaller than asked to fit in the quota. */
      shortened: boolean;
      note: string;
    }
  | { ok: false; reason: string; neededUnits: number; freeUnits: number };

const GRANULARITY = 0.01;
const round = (x: number) => Math.round(x / GRANULARITY) * GRANULARITY;
const units = (x: number) => Number(x.toFixed(4));

export const candidateReplicasAt = (share: number, total: number): number => (share >= 1 ? total : Math.min(total, Math.max(1, Math.ceil(total * share - 1e-9))));
export const baselineReplicasAt = (share: number, total: number): number => (share >= 1 ? 0 : Math.min(total, Math.max(total > 0 ? 1 : 0, Math.ceil(total * (1 - share) - 1e-9))));

export function planShift(input: ShiftPlanInput): ShiftPlan {
  const step = Math.min(1, Math.max(GRANULARITY, input.stepShare));
  const minStep = Math.min(step, Math.max(GRANULARITY, input.minStepShare ?? 0.05));
  const baselineHeld = input.baselineReplicas * input.baselineUnitCost;
  const budget = input.freeUnits === null ? Number.POSITIVE_INFINITY : input.freeUnits + baselineHeld;
  const unitsAt = (share: number, baselineBefore: number) => candidateReplicasAt(share, input.candidateReplicas) * input.candidateUnitCost + baselineBefore * input.baselineUnitCost;

  const steps: ShiftStep[] = [];
  let share = 0;
  let baselineBefore = input.baselineReplicas;
  let shortened = false;
  while (share < 1 - 1e-9) {
    // The largest step up to the asked one that fits; shrink by the granularity until one does.
    let next = Math.min(1, round(share + step));
    while (next - share >= minStep - 1e-9 && unitsAt(next, baselineBefore) > budget + 1e-9) next = round(next - GRANULARITY);
    if (next - share < minStep - 1e-9 || unitsAt(next, baselineBefore) > budget + 1e-9) {
      const smallest = Math.min(1, round(share + minStep));
      const needed = unitsAt(smallest, baselineBefore);
      return {
        ok: false,
        reason:
          `quota exhausted: moving ${pct(share)} -> ${pct(smallest)} of the traffic needs ${candidateReplicasAt(smallest, input.candidateReplicas)} candidate replica(s) next to the old model's ${baselineBefore}, ` +
          `${units(needed)} units, and the team has ${units(budget)} (${units(input.freeUnits ?? 0)} free plus ${units(baselineHeld)} the old model holds): raise the quota, free capacity, or lower the candidate's replicas`,
        neededUnits: units(needed - baselineHeld),
        freeUnits: units(input.freeUnits ?? 0),
      };
    }
    if (next - share < step - 1e-9 && next < 1) shortened = true;
    const peakUnits = unitsAt(next, baselineBefore);
    const baselineAfter = baselineReplicasAt(next, input.baselineReplicas);
    steps.push({ share: next, candidateReplicas: candidateReplicasAt(next, input.candidateReplicas), baselineReplicas: baselineAfter, peakUnits: units(peakUnits) });
    share = next;
    baselineBefore = baselineAfter;
  }
  const reservedUnits = units(Math.max(0, Math.max(...steps.map((s) => s.peakUnits)) - baselineHeld));
  const note = shortened
    ? `steps shortened to fit the quota: ${steps.map((s) => pct(s.share)).join(', ')}`
    : `${steps.length} step(s) of ${pct(step)}: ${steps.map((s) => pct(s.share)).join(', ')}`;
  return { ok: true, steps, reservedUnits, shortened, note };
}

const pct = (x: number) => `${Math.round(x * 100)}%`;
