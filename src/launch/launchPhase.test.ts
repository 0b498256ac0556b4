import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canMove, isTerminal, LaunchPhase, NEXT_PHASES } from './launchPhase.js';

test('terminal phases lead nowhere, and every other phase can end', () => {
  for (const phase of LaunchPhase) {
    if (isTerminal(phase)) assert.deepEqual(NEXT_PHASES[phase], [], phase);
    else assert.ok(NEXT_PHASES[phase].length > 0, phase);
  }
});

test('the happy path and the roll-back are edges of the lifecycle', () => {
  const path = ['estimating', 'awaiting_approval', 'preparing', 'shifting', 'finalizing', 'completed'] as const;
  for (let i = 1; i < path.length; i++) assert.ok(canMove(path[i - 1]!, path[i]!), `${path[i - 1]} -> ${path[i]}`);
  assert.ok(canMove('shifting', 'rolling_back'));
  assert.ok(canMove('rolling_back', 'rolled_back'));
  assert.ok(!canMove('completed', 'shifting'));
  assert.ok(!canMove('finalizing', 'rolling_back'), 'once finalizing starts the registry moves in one transaction: no way back');
});
