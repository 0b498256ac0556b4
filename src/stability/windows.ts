/**
 * Start (epoch ms) of the epoch-aligned tumbling window containing `ts`. Uses the remainder rather than
 * floor(ts / windowMs) so it is exact for every finite ts, negative ones included.
 */
export function windowStart(ts: number, windowMs: number): number {
  if (!Number.isFinite(ts)) throw new RangeError(`timestamp must be a finite number of epoch ms, got ${ts}`);
  if (!Number.isSafeInteger(windowMs) || windowMs <= 0) {
    throw new RangeError(`window length must be a positive integer number of ms, got ${windowMs}`);
  }
  const r = ((ts % windowMs) + windowMs) % windowMs;
  return ts - r;
}
