import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_SERVING_SETTINGS, ServingSettingsSchema, servingSettingsOf } from './modelType.js';

describe('servingSettingsOf', () => {
  test('a type without serving settings gets every default', () => {
    assert.deepEqual(servingSettingsOf({}), { p99Ms: 100, maxErrorRate: 0.001, headroom: 0.3, minReplicas: 2, unitCost: 1, errorRateMargin: 0.005, bakeSeconds: 60 });
    assert.deepEqual(servingSettingsOf({ serving: null }), DEFAULT_SERVING_SETTINGS);
  });

  test('given fields win, missing ones take their defaults', () => {
    assert.deepEqual(servingSettingsOf({ serving: { p99Ms: 40, minReplicas: 3 } }), { ...DEFAULT_SERVING_SETTINGS, p99Ms: 40, minReplicas: 3 });
  });

  test('the schema fills the same defaults as servingSettingsOf', () => {
    assert.deepEqual(ServingSettingsSchema.parse({ bakeSeconds: 5 }), servingSettingsOf({ serving: { bakeSeconds: 5 } }));
  });
});
