import { criticalityRank, type Criticality, type LaunchPolicy } from '../registry/vocabulary.js';

/**
 * Whether a launch may go ahead on its own. The team's policy decides within its quota; the most
 * critical model types always wait for a person, whatever the policy says.
 */

/** Model types at least this critical always need an explicit approval. */
export const ALWAYS_APPROVE_FROM: Criticality = 'TIER1';

export interface ApprovalInput {
  policy: LaunchPolicy;
  criticality: Criticality;
  /** The candidate's cost at full traffic, and the old model's now (null: the type has no baseline footprint). */
  candidateCost: number;
  baselineCost: number | null;
  /** The shift fits in the team's quota (see planShift). A launch that does not fit is refused whatever the policy. */
  fitsQuota: boolean;
  quotaReason?: string;
}

export const ApprovalDecision = ['auto', 'needs_approval', 'refused'] as const;
export type ApprovalDecision = (typeof ApprovalDecision)[number];

export interface Approval {
  decision: ApprovalDecision;
  reason: string;
}

export function decideApproval(input: ApprovalInput): Approval {
  if (!input.fitsQuota) return { decision: 'refused', reason: input.quotaReason ?? 'quota exhausted' };
  if (criticalityRank(input.criticality) <= criticalityRank(ALWAYS_APPROVE_FROM)) {
    return { decision: 'needs_approval', reason: `the model type is ${input.criticality}: ${ALWAYS_APPROVE_FROM} and above always need an explicit approval` };
  }
  switch (input.policy) {
    case 'manual':
      return { decision: 'needs_approval', reason: "the team's launch policy is manual: a team member or an admin approves" };
    case 'no_capacity_regression': {
      if (input.baselineCost === null) return { decision: 'needs_approval', reason: 'no_capacity_regression: the type has no baseline footprint to compare with, so a person approves' };
      if (input.candidateCost <= input.baselineCost + 1e-9) {
        return { decision: 'auto', reason: `no_capacity_regression: the candidate costs ${fmt(input.candidateCost)}, no more than the baseline's ${fmt(input.baselineCost)}` };
      }
      return { decision: 'needs_approval', reason: `no_capacity_regression: the candidate costs ${fmt(input.candidateCost)}, more than the baseline's ${fmt(input.baselineCost)} (+${fmt(input.candidateCost - input.baselineCost)})` };
    }
    case 'auto_within_quota':
      return { decision: 'auto', reason: "auto_within_quota: the launch fits in the team's quota" };
  }
}

const fmt = (x: number) => `${Number(x.toFixed(2))} units`;
