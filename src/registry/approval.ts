import { z } from 'zod';
import { Criticality } from './vocabulary.js';

export const ApprovalStatus = ['pending', 'approved', 'rejected', 'superseded'] as const;
export type ApprovalStatus = (typeof ApprovalStatus)[number];

/** A request to raise a model type to TIER0 or TIER1, waiting for a platform admin. */
export const ApprovalSchema = z.object({
  id: z.number().int(),
  modelType: z.string(),
  fromCriticality: z.enum(Criticality),
  requestedCriticality: z.enum(Criticality),
  status: z.enum(ApprovalStatus),
  requestedBy: z.string(),
  requestedAt: z.string(),
  requestReason: z.string().nullable(),
  decidedBy: z.string().nullable(),
  decidedAt: z.string().nullable(),
  decisionReason: z.string().nullable(),
});
export type Approval = z.infer<typeof ApprovalSchema>;
export type ApprovalDraft = Omit<Approval, 'id'>;
