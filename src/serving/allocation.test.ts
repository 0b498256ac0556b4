import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { armAt, buildAllocation, pickArm, unitPoint, type AllocationModel } from './allocation.js';

const TYPE = 'ig_feed_main_mtml';
const ids = (n: number, prefix = 'user-') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

function counts(models: AllocationModel[], units: string[]): Map<string, number> {
  const allocation = buildAllocation(TYPE, models);
  const out = new Map<string, number>();
  for (const unit of units) {
    const arm = pickArm(allocation, unit)!;
    out.set(arm.modelId, (out.get(arm.modelId) ?? 0) + 1);
  }
  return out;
}

describe('buildAllocation', () => {
  it('lays out holdout, experiments and candidates by id, then the baseline up to 1', () => {
    const allocation = buildAllocation(TYPE, [
      { id: `${TYPE}:v1`, role: 'baseline', trafficShare: 0.5 },
      { id: `${TYPE}:v9`, role: 'candidate', trafficShare: 0.1 },
      { id: `${TYPE}:v3`, role: 'experiment', trafficShare: 0.1 },
      { id: `${TYPE}:v2`, role: 'experiment', trafficShare: 0.1 },
      { id: `${TYPE}:v0`, role: 'holdout', trafficShare: 0.05 },
      { id: `${TYPE}:v5`, role: 'shadow', trafficShare: 0.1 },
      { id: `${TYPE}:v6`, role: 'candidate', trafficShare: 0 },
      { id: `${TYPE}:v7`, role: 'retired', trafficShare: 0.1 },
    ]);
    assert.deepEqual(
      allocation.arms.map((a) => [a.modelId, a.role]),
      [
        [`${TYPE}:v0`, 'holdout'],
        [`${TYPE}:v2`, 'experiment'],
        [`${TYPE}:v3`, 'experiment'],
        [`${TYPE}:v9`, 'candidate'],
        [`${TYPE}:v1`, 'baseline'],
      ],
    );
    assert.equal(allocation.baselineId, `${TYPE}:v1`);
    assert.equal(allocation.arms[0]!.from, 0);
    for (let i = 1; i < allocation.arms.length; i++) assert.equal(allocation.arms[i]!.from, allocation.arms[i - 1]!.to, 'contiguous ranges');
    const baseline = allocation.arms.at(-1)!;
    assert.ok(Math.abs(baseline.from - 0.35) < 1e-12);
    assert.equal(baseline.to, 1, 'the baseline takes the unassigned remainder too');
  });

  it('without a baseline, scales the arms to fill the interval; with no arm, picks nothing', () => {
    const allocation = buildAllocation(TYPE, [
      { id: 'a', role: 'experiment', trafficShare: 0.1 },
      { id: 'b', role: 'experiment', trafficShare: 0.3 },
    ]);
    assert.equal(allocation.baselineId, null);
    assert.deepEqual(allocation.arms.map((a) => [a.from, a.to]), [[0, 0.25], [0.25, 1]]);
    const empty = buildAllocation(TYPE, [{ id: 's', role: 'shadow', trafficShare: 1 }]);
    assert.equal(empty.arms.length, 0);
    assert.equal(pickArm(empty, 'u1'), null);
  });

  it('places a unit where unitPoint says', () => {
    const allocation = buildAllocation(TYPE, [
      { id: 'base', role: 'baseline', trafficShare: 0.5 },
      { id: 'exp', role: 'experiment', trafficShare: 0.5 },
    ]);
    for (const unit of ids(200)) assert.equal(pickArm(allocation, unit)!.modelId, unitPoint(TYPE, unit) < 0.5 ? 'exp' : 'base');
  });

  it('a baseline alone takes everything, whatever its share says', () => {
    const allocation = buildAllocation(TYPE, [{ id: 'base', role: 'baseline', trafficShare: 0 }]);
    assert.deepEqual(allocation.arms.map((a) => [a.modelId, a.from, a.to]), [['base', 0, 1]]);
    assert.equal(armAt(allocation, 0.999999)!.modelId, 'base');
  });
});

describe('pickArm', () => {
  const models: AllocationModel[] = [
    { id: 'base', role: 'baseline', trafficShare: 0.8 },
    { id: 'exp', role: 'experiment', trafficShare: 0.2 },
  ];

  it('keeps a unit in one arm while the shares do not change', () => {
    const first = buildAllocation(TYPE, models);
    const second = buildAllocation(TYPE, models.map((m) => ({ ...m })));
    for (const unit of ids(2000)) assert.equal(pickArm(first, unit)!.modelId, pickArm(second, unit)!.modelId);
  });

  it('splits 100k units within 1% of the shares', () => {
    const split = counts(
      [
        { id: 'base', role: 'baseline', trafficShare: 0.6 },
        { id: 'exp', role: 'experiment', trafficShare: 0.25 },
        { id: 'hold', role: 'holdout', trafficShare: 0.05 },
        { id: 'cand', role: 'candidate', trafficShare: 0.1 },
      ],
      ids(100_000),
    );
    const expected = { base: 0.6, exp: 0.25, hold: 0.05, cand: 0.1 };
    for (const [id, share] of Object.entries(expected)) {
      const seen = (split.get(id) ?? 0) / 100_000;
      assert.ok(Math.abs(seen - share) < 0.01, `${id}: ${seen} vs ${share}`);
    }
  });

  it('spreads sequential and random-looking ids alike', () => {
    const sequential = [...ids(100_000, '')].map((id) => unitPoint(TYPE, id));
    const mean = sequential.reduce((a, b) => a + b, 0) / sequential.length;
    assert.ok(Math.abs(mean - 0.5) < 0.01, `mean point ${mean}`);
    const deciles = new Array<number>(10).fill(0);
    for (const p of sequential) deciles[Math.floor(p * 10)]!++;
    for (const n of deciles) assert.ok(Math.abs(n / 100_000 - 0.1) < 0.01, `deciles ${deciles.join(',')}`);
  });

  it('moves only units between baseline and candidate when the candidate grows', () => {
    const stage = (candidate: number): AllocationModel[] => [
      { id: 'base', role: 'baseline', trafficShare: 0.7 - candidate },
      { id: `${TYPE}:v2`, role: 'experiment', trafficShare: 0.2 },
      { id: `${TYPE}:v1`, role: 'holdout', trafficShare: 0.1 },
      // An id that sorts before the experiment's: the layout still keeps the candidate next to the baseline.
      { id: `${TYPE}:v10`, role: 'candidate', trafficShare: candidate },
    ];
    const units = ids(50_000);
    let previous = buildAllocation(TYPE, stage(0));
    for (const share of [0.01, 0.05, 0.2, 0.4, 0.7]) {
      const next = buildAllocation(TYPE, stage(share));
      let moved = 0;
      for (const unit of units) {
        const before = pickArm(previous, unit)!.modelId;
        const after = pickArm(next, unit)!.modelId;
        if (before === after) continue;
        moved++;
        assert.equal(before, 'base', `${unit} left ${before} at share ${share}`);
        assert.equal(after, `${TYPE}:v10`, `${unit} joined ${after} at share ${share}`);
      }
      assert.ok(moved > 0, `some units moved to the candidate at share ${share}`);
      previous = next;
    }
  });

  it('gives a unit independent arms in different model types', () => {
    const a = buildAllocation('ig_feed_main_mtml', models);
    const b = buildAllocation('ig_reels_main_mtml', models);
    let same = 0;
    const units = ids(10_000);
    for (const unit of units) if ((pickArm(a, unit)!.modelId === 'exp') === (pickArm(b, unit)!.modelId === 'exp')) same++;
    // Independent 80/20 assignments agree 0.8² + 0.2² = 68% of the time; the same hash would agree always.
    assert.ok(Math.abs(same / units.length - 0.68) < 0.02, `agreement ${same / units.length}`);
  });
});
