/**
 * Answers of the API the overview reads. The stability answers are the server's own types; coverage
 * is written out here, as its module reaches into the monitoring generators.
 */
export type { FleetStability, ModelSlo, Rollup } from '../../stability/stabilityReports.js';

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
