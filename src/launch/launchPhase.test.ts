import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';
import { actionRefusal, allowedActions, canMove, isTerminal, LaunchPhase, NEXT_PHASES, TERMINAL_PHASES, type ActionableLaunch } from './launchPhase.js';

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

const at = (phase: LaunchPhase, pausedFrom: LaunchPhase | null = null): ActionableLaunch => ({ id: 'l1', phase, pausedFrom });

describe('what a person may do with a launch, by phase', () => {
  it('offers each phase exactly its actions', () => {
    assert.deepEqual(allowedActions(at('estimating')), ['pause', 'abort']);
    assert.deepEqual(allowedActions(at('awaiting_approval')), ['approve', 'reject', 'abort']);
    assert.deepEqual(allowedActions(at('preparing')), ['pause', 'abort', 'promote']);
    assert.deepEqual(allowedActions(at('shifting')), ['pause', 'abort', 'promote']);
    assert.deepEqual(allowedActions(at('finalizing')), []);
    assert.deepEqual(allowedActions(at('rolling_back')), ['abort']);
    assert.deepEqual(allowedActions(at('paused', 'shifting')), ['resume', 'abort', 'promote']);
    assert.deepEqual(allowedActions(at('paused', 'estimating')), ['resume', 'abort']);
  });

  it('offers nothing once a launch has ended, and says why when asked', () => {
    for (const phase of TERMINAL_PHASES) {
      assert.deepEqual(allowedActions(at(phase)), []);
      assert.equal(actionRefusal(at(phase), 'abort'), `launch l1 is ${phase}: there is nothing left to abort`);
    }
  });

  it('explains a refusal in terms of the phase', () => {
    assert.equal(actionRefusal(at('finalizing'), 'abort'), 'launch l1 is finalizing: too late to abort; launch the old model again instead');
    assert.equal(actionRefusal(at('shifting'), 'approve'), 'launch l1 is shifting, not awaiting approval');
    assert.equal(actionRefusal(at('paused', 'shifting'), 'pause'), 'launch l1 is already paused');
    assert.equal(actionRefusal(at('estimating'), 'promote'), 'launch l1 is estimating: only a launch that is preparing or shifting can be promoted');
  });
});
