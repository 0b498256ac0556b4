import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decideApproval } from './approvalPolicy.js';

const base = { candidateCost: 10, baselineCost: 12, fitsQuota: true } as const;

test('auto_within_quota approves a launch that fits', () => {
  assert.equal(decideApproval({ ...base, policy: 'auto_within_quota', criticality: 'TIER2' }).decision, 'auto');
});

test('a launch that does not fit is refused whatever the policy, with the reason given', () => {
  const d = decideApproval({ ...base, fitsQuota: false, quotaReason: 'quota exhausted: 12 units needed, 3 free', policy: 'auto_within_quota', criticality: 'TIER3' });
  assert.equal(d.decision, 'refused');
  assert.match(d.reason, /12 units needed, 3 free/);
});

test('TIER0 and TIER1 always wait for a person, even under auto_within_quota', () => {
  for (const criticality of ['TIER0', 'TIER1'] as const) {
    const d = decideApproval({ ...base, policy: 'auto_within_quota', criticality });
    assert.equal(d.decision, 'needs_approval');
    assert.match(d.reason, new RegExp(criticality));
  }
  assert.equal(decideApproval({ ...base, policy: 'auto_within_quota', criticality: 'TIER2' }).decision, 'auto');
});

test('manual always waits', () => {
  assert.equal(decideApproval({ ...base, policy: 'manual', criticality: 'TIER4' }).decision, 'needs_approval');
});

test('no_capacity_regression approves only a candidate that costs no more than the baseline', () => {
  assert.equal(decideApproval({ ...base, policy: 'no_capacity_regression', criticality: 'TIER3' }).decision, 'auto');
  const dearer = decideApproval({ ...base, candidateCost: 14, policy: 'no_capacity_regression', criticality: 'TIER3' });
  assert.equal(dearer.decision, 'needs_approval');
  assert.match(dearer.reason, /\+2 units/);
  assert.equal(decideApproval({ ...base, baselineCost: null, policy: 'no_capacity_regression', criticality: 'TIER3' }).decision, 'needs_approval');
});
