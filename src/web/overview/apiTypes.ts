/**
 * Answers of the stability API as the console reads them. Written out here rather than imported from
 * the stability service, whose module graph reaches into the store and Node.
 */
import type { SloReport } from '../../stability/slo.js';
import type { Band } from './describe.js';

/** Stability counts of the monitored models sharing one surface, funnel stage, team or tier. */
export interface Rollup {
  key: string;
  models: number;
  stable: number;
  unstable: number;
  insufficientData: number;
}

/** GET /stability. */
export interface FleetStability {
  /** The minute of the latest evaluation, epoch ms; null before the first. */
  at: number | null;
  models: { monitored: number; unmonitored: number; stable: number; unstable: number; insufficientData: number };
  bySurface: Rollup[];
  byFunnelStage: Rollup[];
  byTeam: Rollup[];
  byTier: Rollup[];
  unstable: Array<{ model: string; tier: string; role: string; team: string; violations: Array<{ task: string; metric: string; value: number; band: Band }> }>;
}

/** One item of GET /slos. */
export interface ModelSlo {
  model: string;
  modelType: string;
  tier: string;
  team: string;
  report: SloReport;
}

/** One way a live model can go unwatched (GET /monitoring/coverage). */
export interface CoverageGap {
  kind: 'thresholds' | 'routing' | 'oncall';
  model: string;
  modelType: string;
  tier: string;
  team: string;
  role: string;
  message: string;
  fix: string;
}

/** GET /monitoring/coverage. */
export interface CoverageReport {
  seq: number;
  models: number;
  covered: number;
  gaps: CoverageGap[];
  notes: string[];
}
