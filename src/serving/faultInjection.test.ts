import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkFaults, failureSchedule } from './faultInjection.js';

const run = (rate: number, n: number) => {
  const fails = failureSchedule(rate);
  return Array.from({ length: n }, () => fails());
};

describe('failureSchedule', () => {
  it('fails every k-th request for a rate of 1/k', () => {
    assert.deepEqual(run(0.25, 8), [false, false, false, true, false, false, false, true]);
    assert.deepEqual(run(0.5, 4), [false, true, false, true]);
  });

  it('after n requests, exactly floor(n x rate) have failed, spread evenly', () => {
    const outcomes = run(0.07, 1000);
    assert.equal(outcomes.filter(Boolean).length, 70);
    // Evenly: every window of 100 requests holds 7 failures, give or take one.
    for (let start = 0; start + 100 <= 1000; start += 50) {
      const inWindow = outcomes.slice(start, start + 100).filter(Boolean).length;
      assert.ok(inWindow >= 6 && inWindow <= 8, `requests ${start}-${start + 99}: ${inWindow}`);
    }
  });

  it('never fails at rate 0 and always fails at rate 1', () => {
    assert.ok(run(0, 100).every((f) => !f));
    assert.ok(run(1, 100).every((f) => f));
  });
});

describe('checkFaults', () => {
  it('accepts shares from 0 to 1 and whole milliseconds', () => {
    checkFaults({ errorRate: 0, extraLatencyMs: 0 });
    checkFaults({ errorRate: 1, extraLatencyMs: 60_000 });
  });

  it('refuses what is out of range, naming the flag', () => {
    assert.throws(() => checkFaults({ errorRate: 1.5 }), /--error-rate 0.05/);
    assert.throws(() => checkFaults({ errorRate: Number.NaN }), /not a share from 0 to 1/);
    assert.throws(() => checkFaults({ extraLatencyMs: -1 }), /--extra-latency-ms/);
    assert.throws(() => checkFaults({ extraLatencyMs: 2.5 }), /whole number of milliseconds/);
  });
});
