import type { Model, TaskThresholds } from '../registry/model.js';
import type { Criticality } from '../registry/vocabulary.js';
import type { ModelEvaluation, ModelStatus, TaskStatus } from './evaluation.js';
import type { SloReport } from './slo.js';

/**
 * What the stability API answers (GET /models/{id}/stability, /stability, /slos), as types only, so
 * the console reads the same shapes the service builds.
 */

export interface TaskPoint {
  /** Epoch ms of the evaluation minute (the window's end) or of the bucket span's start. */
  t: number;
  count: number;
  positives: number;
  calibration: number | null;
  ne: number | null;
  status: TaskStatus | null;
}

export interface ModelPoint {
  t: number;
  status: ModelStatus | null;
  /** Minutes of this step judged unstable / stable, from the per-minute verdicts. */
  unstableMinutes: number;
  stableMinutes: number;
}

export interface ModelStabilityReport {
  model: string;
  modelType: string;
  tier: Criticality;
  role: Model['role'];
  windowMinutes: number;
  from: number;
  to: number;
  step: number;
  /**
   * `evaluations`: each point is the rolling-window verdict last made in its step; `buckets`: each is
   * the sums of the step's own events, unjudged (no verdicts kept for the range); `mixed`: some of each.
   */
  source: 'evaluations' | 'buckets' | 'mixed';
  current: ModelEvaluation | null;
  points: ModelPoint[];
  tasks: Array<{ task: string; thresholds: TaskThresholds | null; points: TaskPoint[] }>;
}

export interface Rollup {
  key: string;
  models: number;
  stable: number;
  unstable: number;
  insufficientData: number;
}

export interface FleetStability {
  at: number | null;
  models: { monitored: number; unmonitored: number; stable: number; unstable: number; insufficientData: number };
  bySurface: Rollup[];
  byFunnelStage: Rollup[];
  byTeam: Rollup[];
  byTier: Rollup[];
  unstable: Array<{ model: string; tier: Criticality; role: Model['role']; team: string; violations: Array<{ task: string; metric: string; value: number; band: { min: number | null; max: number | null } }> }>;
}

export interface ModelSlo {
  model: string;
  modelType: string;
  tier: Criticality;
  team: string;
  report: SloReport;
}
