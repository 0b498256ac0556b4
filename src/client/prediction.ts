/**
 * One labeled prediction as a serving process hands it to {@link PredictionLogger.log}: what the model
 * predicted for a task, and what the user then did.
 */
export interface Prediction {
  /** Model id `<type>:<version>`, e.g. `ig_stories_tray_mtml:v42`. */
  model: string;
  /** Task name, e.g. `PLIKE`: `P` then upper-case letters, digits or `_`. */
  task: string;
  /** Predicted probability, in [0, 1]. */
  p: number;
  /** Observed label: 1 (or true) when the user did it, 0 (or false) when not. */
  y: 0 | 1 | boolean;
  /** When the prediction was made, epoch milliseconds or a Date; defaults to the time of the `log()` call. */
  ts?: number | Date;
  /** Positive weight, default 1 (e.g. the inverse of a sampling rate). */
  w?: number;
  /**
   * The caller's own reference for this prediction (a request id, say), at most 200 characters. It is
   * kept only to be handed back with a server-side rejection, so a rejection can be traced to its cause;
   * delivery is made exactly-once per batch by the idempotency key, not by this id.
   */
  id?: string;
}

/** A prediction as it was buffered and sent: label and time normalized. */
export interface LoggedPrediction {
  model: string;
  task: string;
  p: number;
  y: 0 | 1;
  ts: number;
  w: number;
  id?: string;
}

/** Longest model id the server accepts (`LabeledEventSchema` in `stability/labeledEvent.ts`). */
export const MAX_MODEL_LENGTH = 300;
/** Longest caller id kept (the server's limit for `id`). */
export const MAX_ID_LENGTH = 200;
/**
 * The server's task grammar, repeated here so the client stays free of the server's schema library;
 * a unit test checks the two agree.
 */
export const TASK_PATTERN = /^P[A-Z0-9_]+$/;

function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}...` : value);
  if (value instanceof Date) return `Date(${String(value.getTime())})`;
  if (typeof value === 'bigint') return `${value}n`;
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}

/** A TypeError naming the field, the rule and the value, so a caller's bug shows where it is made. */
export function predictionError(field: string, rule: string, value: unknown): TypeError {
  return new TypeError(`PredictionLogger.log: ${field} ${rule}; got ${shown(value)}`);
}

/** Throws unless `model` is a usable model id. Called once per (model, task) per batch, not per event. */
export function checkModel(model: unknown): asserts model is string {
  if (typeof model !== 'string' || model.length === 0 || model.length > MAX_MODEL_LENGTH) {
    throw predictionError('model', `must be a model id '<type>:<version>' of 1 to ${MAX_MODEL_LENGTH} characters, such as 'ig_feed_main_mtml:v1'`, model);
  }
}

/** Throws unless `task` follows the task grammar. Called once per (model, task) per batch, not per event. */
export function checkTask(task: unknown): asserts task is string {
  if (typeof task !== 'string' || !TASK_PATTERN.test(task)) {
    throw predictionError('task', "must be a task name: 'P' then upper-case letters, digits or '_', such as 'PLIKE'", task);
  }
}

/** The probability, or a TypeError; NaN fails both comparisons, so it is rejected too. */
export function checkProbability(p: unknown): number {
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw predictionError('p', 'must be a probability in [0, 1]', p);
  return p;
}

/** The label as 0 or 1, or a TypeError. */
export function checkLabel(y: unknown): 0 | 1 {
  if (y === 0 || y === false) return 0;
  if (y === 1 || y === true) return 1;
  throw predictionError('y', 'must be the observed label: 0 or 1 (or false or true)', y);
}

/** Epoch milliseconds of `ts`, `now` when it is absent, or a TypeError. */
export function checkTimestamp(ts: unknown, now: number): number {
  if (ts === undefined) return now;
  const ms = typeof ts === 'number' ? ts : ts instanceof Date ? ts.getTime() : Number.NaN;
  if (!(ms >= 0) || !Number.isFinite(ms)) throw predictionError('ts', 'must be epoch milliseconds (a finite number >= 0) or a valid Date', ts);
  return ms;
}

/** The weight, 1 when absent, or a TypeError. */
export function checkWeight(w: unknown): number {
  if (w === undefined) return 1;
  if (typeof w !== 'number' || !(w > 0) || !Number.isFinite(w)) throw predictionError('w', 'must be a finite weight > 0', w);
  return w;
}

/** The caller's id, or a TypeError. */
export function checkId(id: unknown): string | undefined {
  if (id === undefined) return undefined;
  if (typeof id !== 'string' || id.length > MAX_ID_LENGTH) throw predictionError('id', `must be a string of at most ${MAX_ID_LENGTH} characters`, id);
  return id;
}
