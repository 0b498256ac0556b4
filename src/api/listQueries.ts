import { z } from 'zod';
import { Criticality, FunnelStage, ModelRole } from '../registry/vocabulary.js';

/** Query parameters of the list endpoints; unknown parameters are rejected so typos do not silently match everything. */
export const ListQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    cursor: z.string().max(1000).optional(),
    q: z.string().max(200).optional().describe('free text over names, descriptions and tags'),
    tag: z.string().max(64).optional(),
  })
  .strict();

export const ModelTypeListQuerySchema = ListQuerySchema.extend({
  app: z.string().max(64).optional(),
  surface: z.string().max(64).optional(),
  architecture: z.string().max(64).optional(),
  funnelStage: z.enum(FunnelStage).optional(),
  ownerTeam: z.string().max(64).optional(),
  criticality: z.enum(Criticality).optional(),
}).strict();

export const ModelListQuerySchema = ModelTypeListQuerySchema.extend({
  modelType: z.string().max(200).optional(),
  role: z.enum(ModelRole).optional(),
}).strict();

export const pageOf = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), nextCursor: z.string().nullable() });
