/**
 * The answers the model page reads: the server's own types where their modules hold types only; an
 * estimate job is written out, as its module reaches into the load generator and Node.
 */
import type { CapacityEstimate } from '../../capacity/estimateCapacity.js';

export type { ModelPoint, ModelSlo, ModelStabilityReport, TaskPoint } from '../../stability/stabilityReports.js';
export type { ChangeRecord } from '../../registry/change.js';

/** GET /models/{id}/capacity/estimates: one run. */
export interface EstimateJob {
  id: string;
  model: string;
  status: 'running' | 'succeeded' | 'failed';
  requestedBy: string;
  createdAt: string;
  finishedAt: string | null;
  request: { target: string; recordingId: string };
  progress: { step: number; phase: string; offeredQps: number; good: number | null; bad: number | null } | null;
  result: CapacityEstimate | null;
  error: string | null;
}
