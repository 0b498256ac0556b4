/** Answers of the API the overview reads, as the server's own types. */
export type { FleetStability, ModelSlo, Rollup } from '../../stability/stabilityReports.js';
export type { CoverageGap, CoverageReport } from '../../monitoring/coverage.js';
