import type { LoggedPrediction } from './prediction.js';

const INITIAL_CAPACITY = 64;

/**
 * The buffered predictions of one (model, task), column by column in typed arrays: 17 bytes an event
 * (25 once any weight differs from 1), no object per event for the garbage collector to trace, and
 * the columnar JSON the server reads is a `join` of each column away.
 */
export class PredictionColumns {
  length = 0;
  private p: Float64Array;
  private y: Uint8Array;
  private ts: Float64Array;
  /** Allocated at the first weight other than 1; until then every weight is 1 and none is sent. */
  private w: Float64Array | null = null;
  /** Allocated at the first id; ids are kept for rejection reports only. */
  private ids: Array<string | undefined> | null = null;

  /**
   * @param maxLength the most events this group can hold (the batch size), so growth by doubling
   *   never reserves more than a batch needs.
   */
  constructor(
    readonly model: string,
    readonly task: string,
    private readonly maxLength: number,
    capacity = Math.min(INITIAL_CAPACITY, maxLength),
  ) {
    this.p = new Float64Array(capacity);
    this.y = new Uint8Array(capacity);
    this.ts = new Float64Array(capacity);
  }

  push(p: number, y: 0 | 1, ts: number, w: number, id: string | undefined): void {
    const i = this.length;
    if (i === this.p.length) this.grow();
    this.p[i] = p;
    this.y[i] = y;
    this.ts[i] = ts;
    if (w !== 1 && !this.w) this.w = new Float64Array(this.p.length).fill(1, 0, i);
    if (this.w) this.w[i] = w;
    if (id !== undefined) (this.ids ??= [])[i] = id;
    this.length = i + 1;
  }

  /** The event at `index` (0-based), as it was buffered. */
  at(index: number): LoggedPrediction {
    const event: LoggedPrediction = {
      model: this.model,
      task: this.task,
      p: this.p[index]!,
      y: this.y[index] as 0 | 1,
      ts: this.ts[index]!,
      w: this.w ? this.w[index]! : 1,
    };
    const id = this.ids?.[index];
    if (id !== undefined) event.id = id;
    return event;
  }

  /** Events `[start, end)` as their own group, sharing no storage with this one. */
  slice(start: number, end: number): PredictionColumns {
    const length = end - start;
    const part = new PredictionColumns(this.model, this.task, length, length);
    part.p.set(this.p.subarray(start, end));
    part.y.set(this.y.subarray(start, end));
    part.ts.set(this.ts.subarray(start, end));
    if (this.w) part.w = this.w.slice(start, end);
    if (this.ids) part.ids = this.ids.slice(start, end);
    part.length = length;
    return part;
  }

  /**
   * One columnar batch of the ingest API: `{"model","task","p":[...],"y":[...],"ts":[...]|n,"w"?:[...]}`.
   * A shared timestamp is sent once, and weights only when one differs from 1. Numbers print in their
   * shortest round-trip form, so the server sums exactly what was logged.
   */
  toJson(): string {
    const n = this.length;
    const ts = this.ts.subarray(0, n);
    const first = ts[0];
    const sameTime = ts.every((t) => t === first);
    return (
      `{"model":${JSON.stringify(this.model)},"task":${JSON.stringify(this.task)}` +
      `,"p":[${this.p.subarray(0, n).join(',')}]` +
      `,"y":[${this.y.subarray(0, n).join(',')}]` +
      `,"ts":${sameTime ? String(first) : `[${ts.join(',')}]`}` +
      (this.w ? `,"w":[${this.w.subarray(0, n).join(',')}]` : '') +
      '}'
    );
  }

  private grow(): void {
    const capacity = Math.min(Math.max(this.p.length * 2, 1), this.maxLength);
    if (capacity <= this.p.length) throw new RangeError(`a batch group holds at most ${this.maxLength} events`);
    const p = new Float64Array(capacity);
    p.set(this.p);
    this.p = p;
    const y = new Uint8Array(capacity);
    y.set(this.y);
    this.y = y;
    const ts = new Float64Array(capacity);
    ts.set(this.ts);
    this.ts = ts;
    if (this.w) {
      const w = new Float64Array(capacity);
      w.set(this.w);
      this.w = w;
    }
  }
}
