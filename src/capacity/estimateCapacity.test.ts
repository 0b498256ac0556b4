import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_SEARCH } from './capacitySearch.js';
import { startRateFor } from './estimateCapacity.js';

test('the ramp starts at half of what one connection sends at the probed latency', () => {
  assert.equal(startRateFor(5, DEFAULT_SEARCH), 100);
  assert.equal(startRateFor(0.5, DEFAULT_SEARCH), 1000);
});

test('a slow first answer never starts the ramp below the default, nor above the maximum asked for', () => {
  assert.equal(startRateFor(400, DEFAULT_SEARCH), DEFAULT_SEARCH.startQps);
  assert.equal(startRateFor(1, { ...DEFAULT_SEARCH, maxQps: 120 }), 120);
  assert.equal(startRateFor(0, DEFAULT_SEARCH), 5000, 'a zero latency is read as 0.1 ms');
});
