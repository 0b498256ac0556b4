import { z } from 'zod';
import { EntryMetaShape, ExtendedSchema, TagsSchema, TeamNameSchema } from './fields.js';
import { Criticality, FunnelStage, OncallCoverage } from './vocabulary.js';

export const TaskNameSchema = z
  .string()
  .regex(/^P[A-Z0-9_]+$/, "task names start with 'P' followed by upper-case letters, digits or '_' (e.g. PLIKE)");

export const TaskSchema = z
  .object({
    name: TaskNameSchema,
    description: z.string().max(2000).default(''),
  })
  .strict();

export const OncallSchema = z
  .object({
    rotation: z.string().min(1).max(200),
    coverage: z.enum(OncallCoverage),
  })
  .strict();

export const CriticalityJustificationSchema = z
  .object({
    businessMetrics: z.array(z.string().min(1).max(200)).max(32),
    rationale: z.string().max(4000).default(''),
  })
  .strict();

const ModelRefSchema = z.string().min(1).max(200).nullable().default(null);

export const ModelTypeInputSchema = z
  .object({
    name: z.string().min(1).max(200),
    description: z.string().trim().min(1, 'describe the business function this model type serves').max(4000),
    funnelStage: z.enum(FunnelStage),
    ownerTeam: TeamNameSchema,
    oncall: OncallSchema,
    criticality: z.enum(Criticality),
    criticalityJustification: CriticalityJustificationSchema.nullable().default(null),
    tasks: z
      .array(TaskSchema)
      .min(1, 'a model type predicts at least one task')
      .max(256)
      .refine((tasks) => new Set(tasks.map((t) => t.name)).size === tasks.length, 'task names must not repeat'),
    baselineModelId: ModelRefSchema.describe('derived from the model whose role is baseline; if given it must agree'),
    holdoutModelId: ModelRefSchema.describe('derived from the model whose role is holdout; if given it must agree'),
    stability: z
      .object({
        windowMinutes: z.number().int().min(5).max(1440).describe('rolling window each evaluation sums; default 60'),
      })
      .strict()
      .optional()
      .describe("how this type's models are evaluated for stability"),
    extended: ExtendedSchema.default({}),
    tags: TagsSchema.default([]),
  })
  .strict();
export type ModelTypeInput = z.input<typeof ModelTypeInputSchema>;
export type ModelTypeSpec = z.output<typeof ModelTypeInputSchema>;

export const ParsedNameSchema = z.object({
  app: z.string(),
  surface: z.string(),
  subsurfaces: z.array(z.string()),
  architecture: z.string(),
});

export const PendingApprovalSchema = z.object({
  id: z.number().int(),
  requestedCriticality: z.enum(Criticality),
  requestedBy: z.string(),
  requestedAt: z.string(),
});

export const ModelTypeSchema = ModelTypeInputSchema.extend({
  ...EntryMetaShape,
  parsed: ParsedNameSchema,
  pendingApproval: PendingApprovalSchema.nullable(),
});
export type ModelType = z.infer<typeof ModelTypeSchema>;
