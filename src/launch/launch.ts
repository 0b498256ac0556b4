import { z } from 'zod';
import { ExecutorKind } from '../serving/executor.js';
import { ApprovalDecision } from './approvalPolicy.js';
import { GateName } from './gates.js';
import { LaunchPhase, RollbackStage, ShiftStage } from './launchPhase.js';

/** What someone asks for when starting a launch. */
export const LaunchRequestSchema = z
  .object({
    modelType: z.string().min(1).max(200),
    candidate: z.string().min(3).max(260).describe('the model to launch, of that type'),
    executor: z.enum(ExecutorKind).default('local'),
    stepShare: z.number().gt(0).max(1).optional().describe("share of the traffic moved per step; default 0.2"),
    bakeSeconds: z.number().min(0).max(86_400).optional().describe("how long each step runs before its gates are read; default the type's serving.bakeSeconds"),
    peakQps: z.number().positive().optional().describe("the type's peak demand when the router has not observed it"),
    expectedGain: z.string().max(500).optional().describe('what the candidate is expected to win, shown at approval time'),
    retireBaseline: z.enum(['retire', 'holdout']).default('retire').describe('what the old baseline becomes at the end'),
    reason: z.string().max(2000).optional(),
  })
  .strict();
export type LaunchRequest = z.input<typeof LaunchRequestSchema>;

export const LaunchSettingsSchema = z.object({
  stepShare: z.number(),
  bakeSeconds: z.number(),
  p99Ms: z.number(),
  maxErrorRate: z.number(),
  errorRateMargin: z.number(),
  headroom: z.number(),
  minReplicas: z.number(),
  retireBaseline: z.enum(['retire', 'holdout']),
});

export const LaunchEstimateSchema = z.object({
  maxQpsPerReplica: z.number(),
  capacitySource: z.string().describe('where the per-replica capacity came from'),
  peakQps: z.number(),
  demandSource: z.string(),
  replicas: z.number().int(),
  unitCost: z.number(),
  cost: z.number(),
  baseline: z.object({ model: z.string(), replicas: z.number().int(), unitCost: z.number(), cost: z.number() }).nullable(),
  costChange: z.number().nullable(),
});

export const LaunchStepSchema = z.object({
  share: z.number(),
  candidateReplicas: z.number().int(),
  baselineReplicas: z.number().int(),
  peakUnits: z.number(),
});

export const GateRecordSchema = z.object({
  step: z.number().int(),
  at: z.string(),
  name: z.enum(GateName),
  pass: z.boolean(),
  value: z.number().nullable(),
  limit: z.number().nullable(),
  detail: z.string(),
});

export const LaunchSchema = z.object({
  id: z.string(),
  modelType: z.string(),
  candidate: z.string(),
  /** The type's baseline when the launch started; null for a type without one. */
  baseline: z.string().nullable(),
  /** The baseline's traffic share at the start: the candidate takes step shares of it. */
  baselineShare: z.number(),
  team: z.string(),
  executor: z.enum(ExecutorKind),
  phase: z.enum(LaunchPhase),
  /** Where a paused launch goes back to. */
  pausedFrom: z.enum(LaunchPhase).nullable(),
  /** Index of the current shifting step, -1 before the first. */
  step: z.number().int(),
  stage: z.union([z.enum(ShiftStage), z.enum(RollbackStage)]).nullable(),
  /** When the current wait ends (bake) or gives up (readiness), epoch ms. */
  waitUntil: z.number().nullable(),
  /** When the current step's traffic moved: its gates read the traffic from then on. */
  bakeFrom: z.number().nullable(),
  /** A roll-back ends as `rolled_back`, or as `aborted` when a person aborted the launch. */
  rollbackEndsAs: z.enum(['rolled_back', 'aborted']),
  /** Promoted by hand: the remaining steps were skipped, the last one runs without bake or gates. */
  promotedBy: z.string().nullable(),
  settings: LaunchSettingsSchema,
  estimate: LaunchEstimateSchema.nullable(),
  approval: z
    .object({ decision: z.enum(ApprovalDecision), reason: z.string(), policy: z.string(), approvedBy: z.string().nullable(), approvedAt: z.string().nullable() })
    .nullable(),
  expectedGain: z.string().nullable(),
  /** Peak demand given with the request, used before what the router observed. */
  requestedPeakQps: z.number().nullable(),
  plan: z.array(LaunchStepSchema),
  planNote: z.string().nullable(),
  reservedUnits: z.number(),
  traffic: z.object({ candidate: z.number(), baseline: z.number() }),
  replicas: z.object({ candidate: z.number().int(), baseline: z.number().int() }),
  /** Replicas the old model held at the start, restored on roll-back. */
  baselineReplicasAtStart: z.number().int(),
  gates: z.array(GateRecordSchema),
  /** Why the launch failed, rolled back or was aborted. */
  outcome: z.string().nullable(),
  summary: z
    .object({ durationSeconds: z.number(), steps: z.number().int(), costChange: z.number().nullable(), replicas: z.number().int(), retired: z.string().nullable(), heldOut: z.string().nullable() })
    .nullable(),
  version: z.number().int(),
  createdBy: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  finishedAt: z.string().nullable(),
});
export type Launch = z.infer<typeof LaunchSchema>;

/** Where a launch stands once an event is written: kept in the event's `detail.state`, so its traffic and replicas can be drawn over time. */
export interface LaunchState {
  step: number;
  stage: Launch['stage'];
  traffic: Launch['traffic'];
  replicas: Launch['replicas'];
}

/** The launch's `LaunchState`, as its events record it. */
export const launchStateOf = (launch: Launch): LaunchState => ({ step: launch.step, stage: launch.stage, traffic: launch.traffic, replicas: launch.replicas });

export const LaunchEventSchema = z.object({
  seq: z.number().int(),
  at: z.string(),
  actor: z.string(),
  from: z.enum(LaunchPhase).nullable(),
  to: z.enum(LaunchPhase),
  reason: z.string(),
  detail: z.record(z.string(), z.unknown()),
});
export type LaunchEvent = z.infer<typeof LaunchEventSchema>;
