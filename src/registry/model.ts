import { z } from 'zod';
import { EntryMetaShape, ExtendedSchema, TagsSchema } from './fields.js';
import { TaskNameSchema } from './modelType.js';
import { AssetKind, Criticality, ModelRole, ThresholdSource } from './vocabulary.js';

export const AssetSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'asset names are lower-case letters, digits, _ . -'),
    kind: z.enum(AssetKind),
    uri: z.string().min(1).max(2000),
    description: z.string().max(2000).optional(),
  })
  .strict();

export const TaskThresholdsSchema = z
  .object({
    calibration: z
      .object({ min: z.number().positive(), max: z.number().positive() })
      .strict()
      .refine((c) => c.min <= c.max, { message: 'calibration.min must not exceed calibration.max' }),
    neMax: z.number().positive(),
    minPositives: z.number().int().nonnegative().default(0),
    source: z.enum(ThresholdSource).default('static'),
  })
  .strict();

export const CapacityProfileSchema = z
  .object({
    maxQpsPerReplica: z.number().positive(),
    replicas: z.number().int().nonnegative(),
    unitCost: z.number().nonnegative(),
  })
  .strict();

export const ModelInputSchema = z
  .object({
    id: z.string().min(3).max(260),
    modelType: z.string().optional().describe('the part of id before the colon; derived when omitted'),
    role: z.enum(ModelRole),
    trafficShare: z.number().min(0).max(1).default(0),
    criticality: z
      .enum(Criticality)
      .optional()
      .describe("lower than the type's to relax this model's alerts; omitted means the type's"),
    assets: z
      .array(AssetSchema)
      .max(64)
      .default([])
      .refine((assets) => new Set(assets.map((a) => a.name)).size === assets.length, 'asset names must not repeat'),
    thresholds: z.record(TaskNameSchema, TaskThresholdsSchema).default({}),
    capacity: CapacityProfileSchema.nullable().default(null),
    extended: ExtendedSchema.default({}),
    tags: TagsSchema.default([]),
  })
  .strict();
export type ModelInput = z.input<typeof ModelInputSchema>;
export type ModelSpec = z.output<typeof ModelInputSchema>;

export const ModelSchema = ModelInputSchema.extend({
  ...EntryMetaShape,
  modelType: z.string(),
  effectiveCriticality: z.enum(Criticality),
});
export type Model = z.infer<typeof ModelSchema>;
