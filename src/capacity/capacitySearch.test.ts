import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_SEARCH, nextStep, searchConfigProblems, type SearchConfig, type SearchDecision, type SearchResult, type StepOutcome } from './capacitySearch.js';

const config = (overrides: Partial<SearchConfig> = {}): SearchConfig => ({ ...DEFAULT_SEARCH, ...overrides });
const outcome = (phase: StepOutcome['phase'], offeredQps: number, pass: boolean, more: Partial<StepOutcome> = {}): StepOutcome => ({
  phase,
  offeredQps,
  pass,
  stopper: pass ? null : 'p99',
  breached: pass ? [] : ['p99'],
  generatorLimit: null,
  targetDown: null,
  ...more,
});

/** Runs the search against a synthetic target: `judge` decides each step; returns the history and the result. */
function simulate(search: SearchConfig, judge: (phase: StepOutcome['phase'], rate: number, history: readonly StepOutcome[]) => Partial<StepOutcome> & { pass: boolean }) {
  const history: StepOutcome[] = [];
  let decision: SearchDecision = nextStep(search, history);
  while (!decision.done) {
    const judged = judge(decision.phase, decision.offeredQps, history);
    history.push(outcome(decision.phase, decision.offeredQps, judged.pass, judged));
    decision = nextStep(search, history);
    assert.ok(history.length <= 100, 'the search ends');
  }
  return { history, result: decision };
}

describe('capacity search', () => {
  test('ramps geometrically from the start rate, then bisects, then confirms twice', () => {
    const { history, result } = simulate(config(), (_phase, rate) => ({ pass: rate <= 250 }));
    const ramp = history.filter((s) => s.phase === 'ramp').map((s) => s.offeredQps);
    assert.deepEqual(ramp, [10, 20, 40, 80, 160, 320]);
    const search = history.filter((s) => s.phase === 'search').map((s) => s.offeredQps);
    assert.equal(search[0], 240, 'the first bisection is halfway between 160 and 320');
    const confirm = history.filter((s) => s.phase === 'confirm');
    assert.equal(confirm.length, 2);
    assert.ok(history.at(-1)!.phase === 'confirm' && history.at(-2)!.phase === 'confirm', 'the confirmations come last');
    assert.equal(result.verdict, 'converged');
    assert.ok(result.maxQps! <= 250 && result.maxQps! >= 250 / 1.05, `${result.maxQps} is within 5% below the true 250`);
    assert.ok((result.bad! - result.good!) / result.good! <= 0.05);
    assert.ok(confirm.every((s) => s.offeredQps === result.maxQps), 'the confirmed rate is the answer');
  });

  test('every search step lies strictly between the last good and the first bad rate', () => {
    const { history } = simulate(config(), (_phase, rate) => ({ pass: rate <= 777 }));
    let good = 0;
    let bad = Infinity;
    for (const step of history) {
      if (step.phase === 'search') assert.ok(step.offeredQps > good && step.offeredQps < bad, `${step.offeredQps} in (${good}, ${bad})`);
      if (step.phase === 'confirm') continue;
      if (step.pass) good = Math.max(good, step.offeredQps);
      else bad = Math.min(bad, step.offeredQps);
    }
  });

  test('the tolerance decides how close good and bad get', () => {
    for (const tolerance of [0.02, 0.05, 0.2, 0.5]) {
      const { history, result } = simulate(config({ tolerance }), (_phase, rate) => ({ pass: rate <= 1000 }));
      assert.equal(result.verdict, 'converged');
      assert.ok((result.bad! - result.good!) / result.good! <= tolerance, `tolerance ${tolerance}: ${result.good}..${result.bad}`);
      assert.ok(result.maxQps! >= 1000 / (1 + tolerance) && result.maxQps! <= 1000);
      if (tolerance === 0.5) assert.ok(history.filter((s) => s.phase === 'search').length <= 1, 'a loose tolerance needs few bisections');
    }
  });

  test('a failed confirmation makes that rate bad and the search continues below it', () => {
    // The target holds 250 in short steps but not for a long run at 240 or more.
    const { history, result } = simulate(config(), (phase, rate) => ({ pass: phase === 'confirm' ? rate < 240 : rate <= 250 }));
    const failedConfirm = history.find((s) => s.phase === 'confirm' && !s.pass);
    assert.ok(failedConfirm, 'a confirmation failed');
    const after = history.slice(history.indexOf(failedConfirm) + 1);
    assert.ok(after.every((s) => s.offeredQps < failedConfirm.offeredQps), 'nothing at or above the failed confirmation is tried again');
    assert.equal(result.verdict, 'converged');
    assert.ok(result.maxQps! < 240);
    assert.equal(result.bad! <= failedConfirm.offeredQps, true);
  });

  test('a lone confirmation pass does not converge; two in a row do', () => {
    const history = [outcome('ramp', 10, true), outcome('ramp', 20, true), outcome('ramp', 40, false), outcome('search', 30, true), outcome('search', 35, true), outcome('search', 37.5, true), outcome('search', 38.75, true)];
    let decision = nextStep(config(), history);
    assert.deepEqual([decision.done, !decision.done && decision.phase, !decision.done && decision.offeredQps], [false, 'confirm', 38.75]);
    history.push(outcome('confirm', 38.75, true));
    decision = nextStep(config(), history);
    assert.equal(decision.done, false);
    history.push(outcome('confirm', 38.75, true));
    decision = nextStep(config(), history);
    assert.equal(decision.done && decision.verdict, 'converged');
    assert.equal(decision.done && decision.maxQps, 38.75);
  });

  test('--max-qps caps the ramp; holding it is "at least", not a converged capacity', () => {
    const { history, result } = simulate(config({ maxQps: 100 }), () => ({ pass: true }));
    assert.deepEqual(
      history.map((s) => `${s.phase} ${s.offeredQps}`),
      ['ramp 10', 'ramp 20', 'ramp 40', 'ramp 80', 'ramp 100', 'confirm 100', 'confirm 100'],
    );
    assert.equal(result.verdict, 'max_qps_reached');
    assert.equal(result.maxQps, 100);
  });

  test('--max-qps that does not hold its confirmation is searched below', () => {
    const { result } = simulate(config({ maxQps: 100 }), (phase, rate) => ({ pass: phase === 'confirm' ? rate <= 90 : true }));
    assert.equal(result.verdict, 'converged');
    assert.ok(result.maxQps! <= 90 && result.maxQps! >= 90 / 1.05);
  });

  test('a generator-limited step ends the search without a capacity, keeping what is known', () => {
    const { result } = simulate(config(), (_phase, rate) => (rate >= 640 ? { pass: false, generatorLimit: 'the generator sent only 500 of 640 requests per second' } : { pass: true }));
    assert.equal(result.verdict, 'generator_bound');
    assert.equal(result.maxQps, null);
    assert.equal(result.good, 320);
    assert.match(result.reason, /640 QPS.*no capacity.*sent only 500.*held 320 QPS/);
  });

  test('a generator limit during confirmation also ends it: no capacity is claimed', () => {
    const { result } = simulate(config(), (phase, rate) => (phase === 'confirm' ? { pass: false, generatorLimit: 'event loop saturated' } : { pass: rate <= 50 }));
    assert.equal(result.verdict, 'generator_bound');
    assert.equal(result.maxQps, null);
  });

  test('the target failing at once, or falling over later, is target_failed', () => {
    const first = nextStep(config(), [outcome('ramp', 10, false, { stopper: 'error_rate', breached: ['error_rate'] })]) as SearchResult;
    assert.equal(first.verdict, 'target_failed');
    assert.match(first.reason, /first rate/);
    const later = simulate(config(), (_phase, rate) => (rate >= 80 ? { pass: false, targetDown: '60 of 80 requests could not connect' } : { pass: true })).result;
    assert.equal(later.verdict, 'target_failed');
    assert.equal(later.maxQps, null);
    assert.match(later.reason, /fell over at 80 QPS.*held 40 QPS/);
  });

  test('a start rate breaching a latency stopper is no_stable_rate, with what to do', () => {
    const result = nextStep(config({ startQps: 50 }), [outcome('ramp', 50, false)]) as SearchResult;
    assert.equal(result.verdict, 'no_stable_rate');
    assert.equal(result.maxQps, null);
    assert.match(result.reason, /50 QPS breached p99.*--start-qps/);
  });

  test('confirmations failing all the way down leave no stable rate', () => {
    const { result } = simulate(config(), (phase, rate) => ({ pass: phase === 'confirm' ? false : rate <= 30 }));
    assert.equal(result.verdict, 'no_stable_rate');
  });

  test('the step budget bounds the search', () => {
    const { history, result } = simulate(config({ maxSteps: 5 }), (_phase, rate) => ({ pass: rate <= 1000 }));
    assert.equal(history.length, 5);
    assert.equal(result.verdict, 'no_stable_rate');
    assert.match(result.reason, /5 steps/);
  });

  test('the same history always gives the same decision', () => {
    const history = [outcome('ramp', 10, true), outcome('ramp', 20, false)];
    assert.deepEqual(nextStep(config(), history), nextStep(config(), history));
  });

  test('impossible configurations are named', () => {
    assert.deepEqual(searchConfigProblems(config()), []);
    const problems = searchConfigProblems(config({ startQps: 0, tolerance: 0.9, growth: 1 }));
    assert.deepEqual(
      problems.map((p) => p.path),
      ['startQps', 'tolerance', 'growth'],
    );
    assert.match(searchConfigProblems(config({ startQps: 50, maxQps: 20 }))[0]!.message, /below the start rate 50/);
    assert.equal(searchConfigProblems(config({ tolerance: 0 })).length, 1);
  });
});
