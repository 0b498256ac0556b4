import { closest, distance } from 'fastest-levenshtein';
import { Accumulator } from './accumulator.js';
import { parseLabeledEvent } from './labeledEvent.js';
import { windowStart } from './windows.js';
import { invalidInput } from '../core/errors.js';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;

/** Why an event was not kept; each is counted, so a logging bug shows up on a dashboard. */
export const RejectReason = ['malformed', 'bad_value', 'unknown_model', 'unknown_task', 'forbidden', 'too_late', 'in_future'] as const;
export type RejectReason = (typeof RejectReason)[number];

/** What ingestion needs to know of the registry: each live model's tasks and owning team. */
export interface IngestCatalog {
  model(id: string): { tasks: ReadonlySet<string>; team: string } | undefined;
}

export interface IngestPolicy {
  /** Epoch ms, read once per request so every event is judged against the same instant. */
  now: number;
  /** Events older than this are rejected: their minute has been evaluated and rolled up. */
  latenessMs: number;
  /** Clock skew tolerated for events stamped in the future. */
  futureMs: number;
  /** Whether the caller may log predictions of a model owned by `team`. */
  mayIngest(team: string): boolean;
}

export interface BucketSums {
  modelId: string;
  task: string;
  /** Epoch ms of the minute. */
  minute: number;
  acc: Accumulator;
}

export interface LineError {
  line: number;
  message: string;
}

/** Most errors echoed back per request; the rest are counted. A million bad lines must not make a huge answer. */
export const MAX_ERRORS_REPORTED = 100;

/**
 * Sums of a request's good events per (model, task, minute), and an account of the bad ones. Every
 * event ends up in exactly one of `accepted` or `rejected`, so a client can reconcile what it sent.
 */
export class EventBatch {
  readonly buckets = new Map<string, BucketSums>();
  accepted = 0;
  rejected = 0;
  readonly errors: LineError[] = [];
  readonly rejectedBy: Record<RejectReason, number> = { malformed: 0, bad_value: 0, unknown_model: 0, unknown_task: 0, forbidden: 0, too_late: 0, in_future: 0 };
  private lastKey = '';
  private lastBucket: BucketSums | null = null;

  constructor(
    private readonly catalog: IngestCatalog,
    private readonly policy: IngestPolicy,
  ) {}

  /** The answer the API sends: counts and the first errors with their line numbers. */
  summary(): { accepted: number; rejected: number; errors: LineError[]; errorsOmitted?: number } {
    const omitted = this.rejected - this.errors.length;
    return { accepted: this.accepted, rejected: this.rejected, errors: this.errors, ...(omitted > 0 ? { errorsOmitted: omitted } : {}) };
  }

  reject(line: number, reason: RejectReason, message: string): void {
    this.rejected += 1;
    this.rejectedBy[reason] += 1;
    if (this.errors.length < MAX_ERRORS_REPORTED) this.errors.push({ line, message });
  }

  /** Adds NDJSON text; blank lines are skipped but still numbered, so numbers match the sender's file. */
  addNdjson(text: string, firstLine = 1): void {
    let line = firstLine;
    let start = 0;
    while (start < text.length) {
      let end = text.indexOf('\n', start);
      if (end < 0) end = text.length;
      const raw = text.slice(start, end);
      if (raw.trim()) {
        let value: unknown;
        try {
          value = JSON.parse(raw);
        } catch (error) {
          this.reject(line, 'malformed', `not valid JSON: ${(error as Error).message}`);
          value = undefined;
        }
        if (value !== undefined) this.addObject(line, value);
      }
      line += 1;
      start = end + 1;
    }
  }

  /**
   * Adds one columnar batch `{model, task, p: [], y: [], ts: [] | number, w?: []}`. Its events are
   * numbered from `firstLine` in order. Returns the number of events it held. A batch whose shape is
   * wrong (arrays of different lengths, say) throws: its events cannot be numbered, so none is kept.
   */
  addColumnar(batch: unknown, firstLine: number, path: string): number {
    const b = columnarShape(batch, path);
    const { model, task, p, y, w, ts } = b;
    const n = p.length;
    let bucket: BucketSums | null = null;
    let bucketMinute = NaN;
    // Consecutive valid events of one bucket are summed as one run by the columnar loop.
    let run = -1;
    const flush = (end: number) => {
      if (run >= 0 && bucket) {
        bucket.acc.addColumns(p as number[], y as number[], (w as number[] | null) ?? undefined, run, end);
        this.accepted += end - run;
      }
      run = -1;
    };
    for (let i = 0; i < n; i++) {
      const line = firstLine + i;
      const pi = p[i];
      const yi = y[i];
      const wi = w ? w[i] : 1;
      if (typeof pi !== 'number' || !(pi >= 0 && pi <= 1)) {
        flush(i);
        this.reject(line, 'bad_value', `${path}.p[${i}]: p is a probability in [0, 1], got ${JSON.stringify(pi)}`);
        continue;
      }
      if (yi !== 0 && yi !== 1) {
        flush(i);
        this.reject(line, 'bad_value', `${path}.y[${i}]: y is the label: 0 or 1, got ${JSON.stringify(yi)}`);
        continue;
      }
      if (typeof wi !== 'number' || !(wi > 0) || !Number.isFinite(wi)) {
        flush(i);
        this.reject(line, 'bad_value', `${path}.w[${i}]: w is a positive weight, got ${JSON.stringify(wi)}`);
        continue;
      }
      const tsi = typeof ts === 'number' ? ts : timestampOf(ts[i]);
      if (tsi === null) {
        flush(i);
        this.reject(line, 'bad_value', `${path}.ts[${i}]: use epoch milliseconds or an RFC 3339 time, got ${JSON.stringify(ts === null || typeof ts === 'number' ? ts : ts[i])}`);
        continue;
      }
      const minute = tsi - (((tsi % MINUTE_MS) + MINUTE_MS) % MINUTE_MS);
      // Lateness and the future bound fall inside a minute, so a cached bucket still needs each event's time checked.
      if (minute !== bucketMinute || bucket === null || !this.inTime(tsi)) {
        flush(i);
        bucket = this.bucketFor(line, model, task, tsi);
        // A rejected bucket is re-checked per event so each rejection is counted and numbered.
        bucketMinute = bucket ? minute : NaN;
        if (!bucket) continue;
      }
      if (run < 0) run = i;
    }
    flush(n);
    return n;
  }

  /** One parsed NDJSON line: checked by hand for speed, with the schema's wording when it is wrong. */
  addObject(line: number, value: unknown): void {
    const e = value as { model?: unknown; task?: unknown; p?: unknown; y?: unknown; ts?: unknown; w?: unknown; id?: unknown };
    if (
      e === null ||
      typeof e !== 'object' ||
      typeof e.model !== 'string' ||
      typeof e.task !== 'string' ||
      typeof e.p !== 'number' ||
      !(e.p >= 0 && e.p <= 1) ||
      (e.y !== 0 && e.y !== 1) ||
      (typeof e.ts !== 'number' && typeof e.ts !== 'string') ||
      (e.w !== undefined && !(typeof e.w === 'number' && e.w > 0 && Number.isFinite(e.w))) ||
      (e.id !== undefined && typeof e.id !== 'string') ||
      hasUnknownKeys(e)
    ) {
      const parsed = parseLabeledEvent(value);
      // The hand check is stricter only where the schema would also fail; fall through if it passes.
      if ('problem' in parsed) return this.reject(line, 'bad_value', parsed.problem);
      const ev = parsed.event;
      return this.addEvent(line, ev.model, ev.task, ev.p, ev.y, ev.ts, ev.w);
    }
    const ts = typeof e.ts === 'number' ? e.ts : parseTimestamp(e.ts);
    if (ts === null) return this.reject(line, 'bad_value', `ts: '${String(e.ts).slice(0, 60)}' is not epoch milliseconds or an RFC 3339 time such as 2026-11-25T10:00:00.123Z`);
    this.addEvent(line, e.model, e.task, e.p, e.y, ts, (e.w as number | undefined) ?? 1);
  }

  /** One validated event: checks the registry and lateness, then sums it into its minute. */
  addEvent(line: number, model: string, task: string, p: number, y: number, ts: number, w: number): void {
    const bucket = this.bucketFor(line, model, task, ts);
    if (!bucket) return;
    bucket.acc.add(p, y, w);
    this.accepted += 1;
  }

  /** Whether `ts` is within the lateness and future bounds; checked per event, as the bounds split minutes. */
  private inTime(ts: number): boolean {
    return ts >= this.policy.now - this.policy.latenessMs && ts <= this.policy.now + this.policy.futureMs;
  }

  /**
   * The bucket an event of (model, task) at `ts` goes to, or null after rejecting it. Columnar
   * batches call this once per distinct minute rather than once per event.
   */
  bucketFor(line: number, model: string, task: string, ts: number): BucketSums | null {
    if (!Number.isFinite(ts) || ts < 0) {
      this.reject(line, 'bad_value', `ts: ${ts} is not epoch milliseconds`);
      return null;
    }
    const minute = windowStart(Math.floor(ts), MINUTE_MS);
    const key = `${model}\u0000${task}\u0000${minute}`;
    if (key === this.lastKey && this.lastBucket && this.inTime(ts)) return this.lastBucket;
    const known = this.catalog.model(model);
    if (!known) {
      this.reject(line, 'unknown_model', `model '${model.slice(0, 300)}' is not registered (or is retired): register it first, or check the id '<type>:<version>'`);
      return null;
    }
    if (!known.tasks.has(task)) {
      this.reject(line, 'unknown_task', `task '${task.slice(0, 100)}' is not a task of ${model}; its type predicts ${[...known.tasks].join(', ')}`);
      return null;
    }
    if (!this.policy.mayIngest(known.team)) {
      this.reject(line, 'forbidden', `model ${model} belongs to team '${known.team}': this token may log predictions only for its own team's models (or use an ingest token)`);
      return null;
    }
    if (ts < this.policy.now - this.policy.latenessMs) {
      const late = Math.round((this.policy.now - ts) / MINUTE_MS);
      this.reject(line, 'too_late', `ts ${new Date(ts).toISOString()} is ${late} min old, more than the ${Math.round(this.policy.latenessMs / MINUTE_MS)} min lateness allowed: its window has already been evaluated`);
      return null;
    }
    if (ts > this.policy.now + this.policy.futureMs) {
      this.reject(line, 'in_future', `ts ${new Date(ts).toISOString()} is in the future (server time ${new Date(this.policy.now).toISOString()}): check the sender's clock and that ts is in milliseconds`);
      return null;
    }
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = { modelId: model, task, minute, acc: new Accumulator() };
      this.buckets.set(key, bucket);
    }
    this.lastKey = key;
    this.lastBucket = bucket;
    return bucket;
  }
}

const EVENT_KEYS = new Set(['model', 'task', 'p', 'y', 'ts', 'w', 'id']);
function hasUnknownKeys(e: object): boolean {
  for (const key in e) if (!EVENT_KEYS.has(key)) return true;
  return false;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Epoch ms of an RFC 3339 time; null for anything else (Date.parse alone accepts too much). */
export function parseTimestamp(text: string): number | null {
  const match = RFC3339.exec(text);
  if (!match) return null;
  // Date.parse rolls 2026-11-31 over to December 1st and reads hour 24 as the next midnight.
  const [year, month, day, hour] = [Number(match[1]), Number(match[2]), Number(match[3]), Number(match[4])];
  if (day > new Date(Date.UTC(year, month, 0)).getUTCDate() || hour > 23) return null;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : null;
}

function timestampOf(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : null;
  return typeof value === 'string' ? parseTimestamp(value) : null;
}

interface ColumnarBatch {
  model: string;
  task: string;
  p: unknown[];
  y: unknown[];
  w: unknown[] | null;
  ts: number | unknown[];
}

const COLUMNAR_KEYS = new Set(['model', 'task', 'p', 'y', 'ts', 'w']);

/** Checks a columnar batch's shape, naming the field and how to fix it. */
function columnarShape(value: unknown, path: string): ColumnarBatch {
  const problems: Array<{ path: string; message: string }> = [];
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalidInput(`${path} is not a columnar batch: send {"model", "task", "p": [...], "y": [...], "ts": [...] | number, "w"?: [...]}`, [{ path, message: 'expected an object' }]);
  }
  const b = value as Record<string, unknown>;
  for (const key of Object.keys(b)) {
    if (COLUMNAR_KEYS.has(key)) continue;
    const best = closest(key, [...COLUMNAR_KEYS]);
    const near = distance(key, best) <= Math.max(2, Math.floor(key.length / 3)) ? ` (did you mean '${best}'?)` : '';
    problems.push({ path: `${path}.${key}`, message: `unknown field '${key}'${near}: a columnar batch has model, task, p, y, ts and optionally w` });
  }
  if (typeof b['model'] !== 'string' || !b['model']) problems.push({ path: `${path}.model`, message: "missing or empty: the model id, '<type>:<version>'" });
  if (typeof b['task'] !== 'string' || !b['task']) problems.push({ path: `${path}.task`, message: 'missing or empty: the task name, e.g. PLIKE' });
  const p = b['p'];
  if (!Array.isArray(p)) problems.push({ path: `${path}.p`, message: 'must be an array of predicted probabilities' });
  const n = Array.isArray(p) ? p.length : 0;
  for (const field of ['y', 'w'] as const) {
    const col = b[field];
    if (col === undefined && field === 'w') continue;
    if (!Array.isArray(col)) problems.push({ path: `${path}.${field}`, message: field === 'y' ? 'must be an array of labels (0 or 1), one per p' : 'must be an array of weights, one per p' });
    else if (Array.isArray(p) && col.length !== n) problems.push({ path: `${path}.${field}`, message: `has ${col.length} entries but p has ${n}: every column needs one entry per event` });
  }
  const ts = b['ts'];
  if (typeof ts === 'number') {
    if (!Number.isFinite(ts) || ts < 0) problems.push({ path: `${path}.ts`, message: 'must be epoch milliseconds' });
  } else if (Array.isArray(ts)) {
    if (Array.isArray(p) && ts.length !== n) problems.push({ path: `${path}.ts`, message: `has ${ts.length} entries but p has ${n}: give one per event, or one number for all` });
  } else problems.push({ path: `${path}.ts`, message: 'must be an array of timestamps (epoch ms or RFC 3339), one per p, or one epoch-ms number for all' });
  if (problems.length) throw invalidInput(`${path} is not a valid columnar batch: ${problems.map((d) => `${d.path}: ${d.message}`).join('; ')}`, problems);
  return { model: b['model'] as string, task: b['task'] as string, p: p as unknown[], y: b['y'] as unknown[], w: (b['w'] as unknown[] | undefined) ?? null, ts: ts as number | unknown[] };
}
