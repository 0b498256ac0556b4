import type { Launch, LaunchEvent } from './launch.js';
import type { LaunchPhase } from './launchPhase.js';

/** A recorded transition or step, written with the launch in one transaction. */
export interface LaunchEventInput {
  actor: string;
  from: LaunchPhase | null;
  to: LaunchPhase;
  reason: string;
  detail?: Record<string, unknown>;
}

export interface LaunchFilter {
  team?: string | undefined;
  modelType?: string | undefined;
  active?: boolean | undefined;
  limit?: number | undefined;
}

/** The launch records: durable state for the engine, history for people. */
export interface LaunchStore {
  /** Inserts a new launch; a conflict error when the model type already has an unfinished one. */
  create(launch: Launch, event: LaunchEventInput): Promise<void>;
  get(id: string): Promise<Launch | null>;
  list(filter: LaunchFilter): Promise<Launch[]>;
  /**
   * Writes `next` if the stored version is still `next.version - 1`, with the event, atomically.
   * Returns false when someone else moved the launch first (the caller reloads and retries).
   */
  update(next: Launch, event: LaunchEventInput | null): Promise<boolean>;
  events(id: string): Promise<LaunchEvent[]>;
}
