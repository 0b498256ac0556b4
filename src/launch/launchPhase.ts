/**
 * The launch lifecycle as a state machine. Every phase a launch can be in, which phases may follow
 * it, and which ones end it; the engine refuses any other move, so a resumed launch can only continue
 * along these edges.
 */

export const LaunchPhase = [
  'estimating',
  'awaiting_approval',
  'preparing',
  'shifting',
  'finalizing',
  'completed',
  'paused',
  'rolling_back',
  'rolled_back',
  'aborted',
  'failed',
] as const;
export type LaunchPhase = (typeof LaunchPhase)[number];

/** Phases that end a launch: nothing runs for it any more and its model type is free for another. */
export const TERMINAL_PHASES: ReadonlySet<LaunchPhase> = new Set(['completed', 'rolled_back', 'aborted', 'failed']);
export const isTerminal = (phase: LaunchPhase): boolean => TERMINAL_PHASES.has(phase);

/** Where each phase may go next. */
export const NEXT_PHASES: Record<LaunchPhase, readonly LaunchPhase[]> = {
  estimating: ['awaiting_approval', 'preparing', 'paused', 'aborted', 'failed'],
  awaiting_approval: ['preparing', 'aborted', 'failed'],
  preparing: ['shifting', 'paused', 'rolling_back', 'aborted', 'failed'],
  shifting: ['shifting', 'finalizing', 'paused', 'rolling_back', 'failed'],
  finalizing: ['completed', 'failed'],
  paused: ['estimating', 'preparing', 'shifting', 'rolling_back', 'aborted'],
  rolling_back: ['rolled_back', 'aborted', 'failed'],
  completed: [],
  rolled_back: [],
  aborted: [],
  failed: [],
};

export const canMove = (from: LaunchPhase, to: LaunchPhase): boolean => NEXT_PHASES[from].includes(to);

/** What a person can ask of a running launch. */
export const LaunchAction = ['approve', 'reject', 'pause', 'resume', 'abort', 'promote'] as const;
export type LaunchAction = (typeof LaunchAction)[number];

/** Within a shifting step, what has been done so far; a resumed launch repeats the current stage, which is idempotent. */
export const ShiftStage = ['scale_up', 'wait_ready', 'shift', 'bake', 'gate', 'scale_down'] as const;
export type ShiftStage = (typeof ShiftStage)[number];

/** Within a roll-back: the old model scales up before traffic moves back, then the candidate goes. */
export const RollbackStage = ['scale_up_baseline', 'wait_baseline', 'shift_back', 'remove_candidate'] as const;
export type RollbackStage = (typeof RollbackStage)[number];
