import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planShift } from './shiftPlan.js';

test('with no quota the plan moves the default 20% per step, scaling the candidate up and the old model down', () => {
  const plan = planShift({ candidateReplicas: 10, candidateUnitCost: 1, baselineReplicas: 10, baselineUnitCost: 1, stepShare: 0.2, freeUnits: null });
  assert.ok(plan.ok);
  assert.deepEqual(
    plan.steps.map((s) => [s.share, s.candidateReplicas, s.baselineReplicas]),
    [
      [0.2, 2, 8],
      [0.4, 4, 6],
      [0.6, 6, 4],
      [0.8, 8, 2],
      [1, 10, 0],
    ],
  );
  // Just before each shift both hold replicas: the worst is the candidate's new count next to the old model's previous one.
  assert.deepEqual(plan.steps.map((s) => s.peakUnits), [12, 12, 12, 12, 12]);
  assert.equal(plan.reservedUnits, 2);
  assert.equal(plan.shortened, false);
});

test('when spare capacity is short the steps shrink so each fits in the free quota plus what the old model holds', () => {
  // 1 unit free: the candidate can only add one replica beyond what the old model has released.
  const plan = planShift({ candidateReplicas: 10, candidateUnitCost: 1, baselineReplicas: 10, baselineUnitCost: 1, stepShare: 0.2, freeUnits: 1 });
  assert.ok(plan.ok);
  assert.equal(plan.shortened, true);
  for (const s of plan.steps) assert.ok(s.peakUnits <= 11 + 1e-9, `step to ${s.share} holds ${s.peakUnits} units, more than 11`);
  assert.equal(plan.steps.at(-1)!.share, 1);
  assert.ok(plan.steps.length > 5);
  assert.ok(plan.reservedUnits <= 1);
});

test('a launch that cannot take even the smallest step is refused with the numbers', () => {
  const plan = planShift({ candidateReplicas: 10, candidateUnitCost: 5, baselineReplicas: 2, baselineUnitCost: 1, stepShare: 0.2, freeUnits: 0 });
  assert.equal(plan.ok, false);
  if (plan.ok) return;
  assert.match(plan.reason, /quota exhausted/);
  assert.match(plan.reason, /units/);
  assert.equal(plan.freeUnits, 0);
  assert.ok(plan.neededUnits > 0);
});

test('a type without a running baseline shifts onto the candidate alone', () => {
  const plan = planShift({ candidateReplicas: 3, candidateUnitCost: 2, baselineReplicas: 0, baselineUnitCost: 1, stepShare: 0.5, freeUnits: 6 });
  assert.ok(plan.ok);
  assert.deepEqual(plan.steps.map((s) => [s.share, s.candidateReplicas, s.baselineReplicas]), [
    [0.5, 2, 0],
    [1, 3, 0],
  ]);
  assert.equal(plan.reservedUnits, 6);
});

test('a step of 1 moves everything at once', () => {
  const plan = planShift({ candidateReplicas: 4, candidateUnitCost: 1, baselineReplicas: 4, baselineUnitCost: 1, stepShare: 1, freeUnits: null });
  assert.ok(plan.ok);
  assert.deepEqual(plan.steps.map((s) => s.share), [1]);
});
