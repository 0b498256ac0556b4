import { randomUUID } from 'node:crypto';
import type { LoggedPrediction } from './prediction.js';
import { PredictionColumns } from './predictionColumns.js';

/**
 * One request's worth of predictions, sealed: its groups no longer change, and its idempotency key is
 * drawn once here so every retry of this batch carries the same key and the server counts it once.
 */
export class PredictionBatch {
  readonly events: number;
  /** Sent as `Idempotency-Key`: a fresh UUID per batch, the same across that batch's retries. */
  readonly idempotencyKey: string;

  constructor(
    readonly groups: readonly PredictionColumns[],
    idempotencyKey: string = randomUUID(),
  ) {
    this.events = groups.reduce((sum, group) => sum + group.length, 0);
    this.idempotencyKey = idempotencyKey;
  }

  /** The request body: a JSON array of columnar batches, one per (model, task), in buffer order. */
  toJson(): string {
    return `[${this.groups.map((group) => group.toJson()).join(',')}]`;
  }

  /**
   * The event the server means by `line`: for columnar bodies, the 1-based position of the event
   * across the body's batches in order. Null when the line is outside the batch.
   */
  eventAt(line: number): LoggedPrediction | null {
    if (!Number.isInteger(line) || line < 1) return null;
    let index = line - 1;
    for (const group of this.groups) {
      if (index < group.length) return group.at(index);
      index -= group.length;
    }
    return null;
  }

  /**
   * Two halves with new idempotency keys, for a body the server found too large. New keys are right:
   * the server refused the whole body, so neither half has been counted under the old key.
   */
  split(): [PredictionBatch, PredictionBatch] {
    if (this.events < 2) throw new RangeError('a batch of one event cannot be split');
    const half = Math.ceil(this.events / 2);
    const first: PredictionColumns[] = [];
    const second: PredictionColumns[] = [];
    let seen = 0;
    for (const group of this.groups) {
      const take = Math.min(group.length, Math.max(0, half - seen));
      if (take === group.length) first.push(group);
      else if (take === 0) second.push(group);
      else {
        first.push(group.slice(0, take));
        second.push(group.slice(take, group.length));
      }
      seen += group.length;
    }
    return [new PredictionBatch(first), new PredictionBatch(second)];
  }
}
