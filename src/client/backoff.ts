/** How long to wait between attempts of one batch. */
export interface BackoffPolicy {
  /** Wait ceiling before the first retry, ms. */
  initialMs: number;
  /** Largest ceiling, ms: the doubling stops here. */
  maxMs: number;
}

/**
 * A server's `Retry-After` is honoured up to this long. Longer values are more likely a misconfigured
 * proxy than a plan, and one batch must not hold its sending slot for hours.
 */
export const MAX_RETRY_AFTER_MS = 5 * 60_000;

/**
 * The wait before retry number `retry` (1 for the first retry): exponential, with "equal jitter", a
 * uniform draw from the upper half of `min(maxMs, initialMs * 2^(retry-1))`. Jitter keeps a fleet of
 * serving processes that lost the server together from returning in lockstep; the lower bound keeps
 * each wait long enough that the retries span a server restart rather than bunching up early.
 *
 * @param random a draw in [0, 1), injectable so tests can pin the schedule.
 */
export function backoffDelay(retry: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.max(0, retry - 1));
  return Math.round((ceiling / 2) * (1 + random()));
}

/**
 * Milliseconds a `Retry-After` header asks for: delay-seconds or an HTTP date. Null when absent or
 * unreadable, so the caller falls back to its own backoff.
 */
export function parseRetryAfter(header: string | null, now: number): number | null {
  if (header === null) return null;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Math.min(Number(text) * 1000, MAX_RETRY_AFTER_MS);
  const at = Date.parse(text);
  if (!Number.isFinite(at)) return null;
  return Math.min(Math.max(0, at - now), MAX_RETRY_AFTER_MS);
}

/**
 * The wait before a retry: the backoff, or longer when the server asked for longer. A server asking
 * for less than the backoff does not shorten it: under load, the backoff is what spreads the fleet.
 */
export function retryDelay(retry: number, policy: BackoffPolicy, retryAfterMs: number | null, random: () => number = Math.random): number {
  const backoff = backoffDelay(retry, policy, random);
  return retryAfterMs === null ? backoff : Math.max(backoff, retryAfterMs);
}
