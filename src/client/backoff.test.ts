import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelay, MAX_RETRY_AFTER_MS, parseRetryAfter, retryDelay } from './backoff.js';

const policy = { initialMs: 500, maxMs: 30_000 };

test('the backoff doubles per retry up to its cap, drawn from the upper half of each ceiling', () => {
  const low = [1, 2, 3, 4, 5, 6, 7, 8].map((retry) => backoffDelay(retry, policy, () => 0));
  const high = [1, 2, 3, 4, 5, 6, 7, 8].map((retry) => backoffDelay(retry, policy, () => 0.999999));
  assert.deepEqual(low, [250, 500, 1000, 2000, 4000, 8000, 15_000, 15_000]);
  assert.deepEqual(high, [500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
});

test('jitter spreads the waits of many clients across the range', () => {
  let seed = 7;
  const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
  const waits = Array.from({ length: 1000 }, () => backoffDelay(3, policy, random));
  assert.ok(Math.min(...waits) >= 1000 && Math.max(...waits) <= 2000);
  assert.ok(new Set(waits).size > 500, 'not in lockstep');
});

test('Retry-After is read as seconds or an HTTP date, capped, and never shortens the backoff', () => {
  const now = Date.parse('2026-11-25T10:00:00Z');
  assert.equal(parseRetryAfter('3', now), 3000);
  assert.equal(parseRetryAfter(' 0 ', now), 0);
  assert.equal(parseRetryAfter('Wed, 25 Nov 2026 10:00:07 GMT', now), 7000);
  assert.equal(parseRetryAfter('Wed, 25 Nov 2026 09:00:00 GMT', now), 0, 'a date in the past means now');
  assert.equal(parseRetryAfter('86400', now), MAX_RETRY_AFTER_MS);
  assert.equal(parseRetryAfter('soon', now), null);
  assert.equal(parseRetryAfter(null, now), null);
  assert.equal(retryDelay(1, policy, 3000, () => 0), 3000);
  assert.equal(retryDelay(4, policy, 100, () => 0), 2000);
  assert.equal(retryDelay(2, policy, null, () => 0), 500);
});
