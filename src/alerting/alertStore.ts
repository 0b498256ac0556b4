import type { Alert, AlertState } from './alert.js';

export interface AlertQuery {
  state?: AlertState | undefined;
  model?: string | undefined;
  limit: number;
}

/** Alerts' port to storage: one row per fingerprint, so state survives restarts and duplicates cannot arise. */
export interface AlertStore {
  /** Every firing alert, and resolved ones whose resolution receivers have not yet accepted. */
  open(): Promise<Alert[]>;
  /** The stored alerts with these fingerprints, whatever their state (a resolved one may re-fire). */
  byFingerprints(fingerprints: readonly string[]): Promise<Alert[]>;
  upsert(alerts: readonly Alert[]): Promise<void>;
  list(query: AlertQuery): Promise<Alert[]>;
}
