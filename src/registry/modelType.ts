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

/** What a launch assumes for a model type whose `serving` settings leave a field out. */
export const DEFAULT_SERVING_SETTINGS = {
  p99Ms: 100,
  maxErrorRate: 0.001,
  headroom: 0.3,
  minReplicas: 2,
  unitCost: 1,
  errorRateMargin: 0.005,
  bakeSeconds: 60,
} as const satisfies Record<string, number>;

const defaults = DEFAULT_SERVING_SETTINGS;

/** How a model type's models are served and launched: the latency and error objectives, sizing and gates. */
export const ServingSettingsSchema = z
  .object({
    p99Ms: z
      .number()
      .positive('p99Ms is a latency in milliseconds, more than 0')
      .max(600_000)
      .default(defaults.p99Ms)
      .describe(`latency objective: a replica's p99 in milliseconds; capacity is measured up to it and launch gates hold the candidate to it. Default ${defaults.p99Ms}`),
    maxErrorRate: z
      .number()
      .min(0)
      .max(1)
      .default(defaults.maxErrorRate)
      .describe(`highest share of failed requests a replica may serve, 0 to 1; capacity is measured up to it. Default ${defaults.maxErrorRate}`),
    headroom: z
      .number()
      .min(0)
      .max(10)
      .default(defaults.headroom)
      .describe(`spare capacity above the peak demand when sizing replicas (0.3 is 30%). Default ${defaults.headroom}`),
    minReplicas: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(defaults.minReplicas)
      .describe(`never fewer replicas than this, for redundancy. Default ${defaults.minReplicas}`),
    unitCost: z
      .number()
      .min(0)
      .default(defaults.unitCost)
      .describe(`capacity units one replica costs, when the model's capacity profile does not say. Default ${defaults.unitCost}`),
    errorRateMargin: z
      .number()
      .min(0)
      .max(1)
      .default(defaults.errorRateMargin)
      .describe(`launch gate: the candidate's error rate may exceed the baseline's by at most this. Default ${defaults.errorRateMargin}`),
    bakeSeconds: z
      .number()
      .min(0)
      .max(86_400)
      .default(defaults.bakeSeconds)
      .describe(`how long each launch step serves before its gates are read. Default ${defaults.bakeSeconds}`),
  })
  .strict();
export type ServingSettings = z.output<typeof ServingSettingsSchema>;

/**
 * A model type's serving settings with every default filled in. Types written before these settings
 * existed, or that leave some out, get the defaults.
 */
export function servingSettingsOf(type: { serving?: Partial<ServingSettings> | null | undefined }): ServingSettings {
  const given = type.serving ?? {};
  const out: ServingSettings = { ...DEFAULT_SERVING_SETTINGS };
  for (const key of Object.keys(out) as Array<keyof ServingSettings>) {
    const value = given[key];
    if (typeof value === 'number' && Number.isFinite(value)) out[key] = value;
  }
  return out;
}

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
    serving: ServingSettingsSchema.optional().describe(
      "how this type's models are served and launched: latency and error objectives, replica sizing, launch gates; fields left out take their defaults",
    ),
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
