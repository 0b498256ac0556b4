import { invalidInput } from '../core/errors.js';

/**
 * Faults a model server can be started with, to rehearse what a launch does when a candidate
 * misbehaves (its gates must fail and roll it back) without breaking a real model.
 */
export interface ModelServerFaults {
  /** Share of `POST /predict` requests answered 500, from 0 to 1. */
  errorRate?: number;
  /** Milliseconds added before every `POST /predict` answer. */
  extraLatencyMs?: number;
}

/** Checks the faults' ranges; throws invalid input naming the flag to fix. */
export function checkFaults(faults: ModelServerFaults): void {
  const { errorRate, extraLatencyMs } = faults;
  if (errorRate !== undefined && !(errorRate >= 0 && errorRate <= 1)) {
    throw invalidInput(`error rate ${errorRate} is not a share from 0 to 1: pass --error-rate 0.05 for 5% of predictions failing`);
  }
  if (extraLatencyMs !== undefined && !(Number.isInteger(extraLatencyMs) && extraLatencyMs >= 0 && extraLatencyMs <= 60_000)) {
    throw invalidInput(`extra latency ${extraLatencyMs} is not a whole number of milliseconds from 0 to 60000: pass --extra-latency-ms 200, say`);
  }
}

/**
 * Decides which requests fail, deterministically and evenly spread: request n fails when
 * floor(n x rate) grows, so after n requests exactly floor(n x rate) have failed (rate 0.25 fails
 * every 4th). Runs of a rehearsal then agree, and a gate's threshold is crossed for a known reason.
 */
export function failureSchedule(rate: number): () => boolean {
  let served = 0;
  return () => {
    served += 1;
    return Math.floor(served * rate) > Math.floor((served - 1) * rate);
  };
}
