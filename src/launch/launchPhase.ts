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

/** The part of a launch that decides which actions it takes now. */
export interface ActionableLaunch {
  id: string;
  phase: LaunchPhase;
  pausedFrom: LaunchPhase | null;
}

/**
 * Why `action` cannot be taken on the launch as it stands, or null when it can. The service refuses
 * with this message and the console offers only the actions it allows: one rule for both.
 */
export function actionRefusal(launch: ActionableLaunch, action: LaunchAction): string | null {
  const { id, phase } = launch;
  if (isTerminal(phase)) return `launch ${id} is ${phase}: there is nothing left to ${action}`;
  const from = phase === 'paused' ? launch.pausedFrom : phase;
  switch (action) {
    case 'approve':
    case 'reject':
      return phase === 'awaiting_approval' ? null : `launch ${id} is ${phase}, not awaiting approval`;
    case 'pause':
      if (phase === 'paused') return `launch ${id} is already paused`;
      return phase === 'finalizing' || phase === 'rolling_back' || phase === 'awaiting_approval' ? `launch ${id} is ${phase}, which cannot be paused` : null;
    case 'resume':
      return phase === 'paused' && launch.pausedFrom ? null : `launch ${id} is ${phase}, not paused`;
    case 'abort':
      return from === 'finalizing' ? `launch ${id} is finalizing: too late to abort; launch the old model again instead` : null;
    case 'promote':
      return from === 'shifting' || from === 'preparing' ? null : `launch ${id} is ${phase}: only a launch that is preparing or shifting can be promoted`;
  }
}

/** The actions the launch takes now, in the order people read them. */
export const allowedActions = (launch: ActionableLaunch): LaunchAction[] => LaunchAction.filter((action) => actionRefusal(launch, action) === null);

/** Within a shifting step, what has been done so far; a resumed launch repeats the current stage, which is idempotent. */
export const ShiftStage = ['scale_up', 'wait_ready', 'shift', 'bake', 'gate', 'scale_down'] as const;
export type ShiftStage = (typeof ShiftStage)[number];

/** Within a roll-back: the old model scales up before traffic moves back, then the candidate goes. */
export const RollbackStage = ['scale_up_baseline', 'wait_baseline', 'shift_back', 'remove_candidate'] as const;
export type RollbackStage = (typeof RollbackStage)[number];
