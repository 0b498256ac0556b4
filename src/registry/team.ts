import { z } from 'zod';
import { EntryMetaShape, TeamNameSchema } from './fields.js';

export const TeamInputSchema = z
  .object({
    name: TeamNameSchema,
    description: z.string().max(2000).default(''),
    oncallRotation: z.string().min(1).max(200).nullable().default(null),
  })
  .strict();
export type TeamInput = z.input<typeof TeamInputSchema>;
export type TeamSpec = z.output<typeof TeamInputSchema>;

export const TeamSchema = TeamInputSchema.extend({
  ...EntryMetaShape,
  members: z.array(z.string()).describe('names of the member tokens of this team'),
});
export type Team = z.infer<typeof TeamSchema>;
