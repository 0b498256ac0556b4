import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { estimateCost } from './cost.js';

describe('estimateCost', () => {
  it('sizes for the peak plus headroom, rounding replicas up', () => {
    const e = estimateCost({ peakQps: 1000, headroom: 0.3, maxQpsPerReplica: 120, unitCost: 50, minReplicas: 2 });
    assert.equal(e.replicas, 11); // 1300 / 120 = 10.83
    assert.equal(e.cost, 550);
    assert.ok(Math.abs(e.utilizationAtPeak - 1000 / 1320) < 1e-12);
    assert.equal(e.baseline, null);
    assert.equal(e.delta, null);
  });

  it('does not add a replica for floating-point noise at an exact fit', () => {
    assert.equal(estimateCost({ peakQps: 100, headroom: 0.3, maxQpsPerReplica: 130, unitCost: 1, minReplicas: 1 }).replicas, 1);
  });

  it('keeps the redundancy minimum for small demand', () => {
    assert.equal(estimateCost({ peakQps: 1, maxQpsPerReplica: 500, unitCost: 10 }).replicas, 2);
  });

  it('reports the change against the baseline footprint', () => {
    const e = estimateCost({ peakQps: 1000, headroom: 0, maxQpsPerReplica: 100, unitCost: 3 }, { replicas: 8, cost: 24 });
    assert.deepEqual(e.delta, { replicas: 2, cost: 6 });
  });

  it('refuses impossible inputs with the field named', () => {
    assert.throws(() => estimateCost({ peakQps: 0, maxQpsPerReplica: 10, unitCost: 1 }), /peakQps/);
    assert.throws(() => estimateCost({ peakQps: 10, maxQpsPerReplica: -1, unitCost: 1 }), /maxQpsPerReplica/);
  });
});
