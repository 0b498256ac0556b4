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

/** How a learned band was derived, kept on the model so its history shows why the band moved. */
export const ThresholdBasisSchema = z
  .object({
    method: z.string().min(1).max(200),
    from: z.string().describe('RFC 3339 start of the history the band was learned from'),
    to: z.string().describe('RFC 3339 end of that history'),
    windows: z.number().int().nonnegative().describe('healthy windows used'),
    excludedWindows: z.number().int().nonnegative().describe('windows left out because the model was unstable or had too little data'),
    calibrationMedian: z.number().nullable(),
    neMedian: z.number().nullable(),
    learnedAt: z.string(),
  })
  .strict();

export const TaskThresholdsSchema = z
  .object({
    calibration: z
      .object({ min: z.number().positive(), max: z.number().positive() })
      .strict()
      .refine((c) => c.min <= c.max, { message: 'calibration.min must not exceed calibration.max' }),
    neMax: z.number().positive(),
    minPositives: z.number().int().nonnegative().default(0).describe('fewer weighted positives in the window than this: insufficient_data, never unstable'),
    minCount: z.number().int().nonnegative().optional().describe('fewer events in the window than this: insufficient_data'),
    source: z.enum(ThresholdSource).default('static'),
    basis: ThresholdBasisSchema.optional(),
  })
  .strict();
export type TaskThresholds = z.output<typeof TaskThresholdsSchema>;

/** Where a capacity figure came from: the measurement that produced it, so it can be trusted or redone. */
export const CapacityEstimateSchema = z
  .object({
    maxQps: z.number().nonnegative().describe('the highest rate one replica held within the stoppers'),
    verdict: z.string().max(100),
    measuredAt: z.string(),
    target: z.string().max(2000).describe('the replica that was measured'),
    recording: z.string().max(500).describe('the recorded traffic replayed: recording id or file'),
    requests: z.number().int().nonnegative().describe('distinct requests in the recording'),
    stoppers: z.record(z.string(), z.number()).describe('e.g. {"p99Ms": 50, "maxErrorRate": 0.001}'),
    steps: z.number().int().nonnegative().describe('load steps run'),
    durationMs: z.number().nonnegative(),
  })
  .strict();

export const CapacityProfileSchema = z
  .object({
    maxQpsPerReplica: z.number().positive(),
    replicas: z.number().int().nonnegative(),
    unitCost: z.number().nonnegative().describe('cost of one replica per unit of time (e.g. USD a month)'),
    estimate: CapacityEstimateSchema.optional().describe('the measurement maxQpsPerReplica comes from, when measured'),
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
