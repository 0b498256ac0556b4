import { z } from 'zod';
import { EntryMetaShape, TeamNameSchema } from './fields.js';
import { LaunchPolicy } from './vocabulary.js';

export const TeamInputSchema = z
  .object({
    name: TeamNameSchema,
    description: z.string().max(2000).default(''),
    oncallRotation: z.string().min(1).max(200).nullable().default(null),
    quota: z
      .number()
      .min(0, 'a quota is a number of capacity units, 0 or more; use null for no quota')
      .max(1e12)
      .nullable()
      .default(null)
      .describe(
        "the team's virtual pool, in capacity units (replicas x unit cost) its live models and running launches may hold; null: no quota, launches are never refused for capacity. Only platform admins set it",
      ),
    launchPolicy: z
      .enum(LaunchPolicy)
      .default('auto_within_quota')
      .describe(
        "how the team's launches are approved: auto_within_quota (on their own when they fit the quota), no_capacity_regression (on their own when the candidate costs no more than the model it replaces), manual (always a person). Only platform admins set it",
      ),
  })
  .strict();
export type TeamInput = z.input<typeof TeamInputSchema>;
export type TeamSpec = z.output<typeof TeamInputSchema>;

/** Team fields that bound what a team may launch on its own: only platform admins set them. */
export const ADMIN_ONLY_TEAM_FIELDS = ['quota', 'launchPolicy'] as const satisfies ReadonlyArray<keyof TeamSpec>;

/**
 * A stored team document as a spec: documents written before a field existed lack it, and read as
 * its default (no quota, `auto_within_quota`).
 */
export function teamSpecFromStored(doc: Omit<TeamSpec, (typeof ADMIN_ONLY_TEAM_FIELDS)[number]> & Partial<TeamSpec>): TeamSpec {
  return { ...doc, quota: doc.quota ?? null, launchPolicy: doc.launchPolicy ?? 'auto_within_quota' };
}

export const TeamSchema = TeamInputSchema.extend({
  ...EntryMetaShape,
  members: z.array(z.string()).describe('names of the member tokens of this team'),
});
export type Team = z.infer<typeof TeamSchema>;
