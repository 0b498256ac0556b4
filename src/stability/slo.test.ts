import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BUDGET_WINDOW_MINUTES,
  BURN_RATE_RULES,
  DEFAULT_OBJECTIVES,
  SLO_WINDOWS_MINUTES,
  SloObjectivesSchema,
  burnExceeds,
  evaluateSlo,
  objectiveFor,
  type SloWindowCounts,
  type SloWindowMinutes,
} from './slo.js';

function close(actual: number | null, expected: number, rel = 1e-12): void {
  assert.ok(actual !== null, `expected ${expected}, got null`);
  const ok = actual === expected || Math.abs(actual - expected) <= rel * Math.max(Math.abs(actual), Math.abs(expected), 1);
  assert.ok(ok, `${actual} is not ${expected}`);
}

/** Counts for every window: given ones as { minutes: [evaluated, bad] }, the rest fully evaluated and stable. */
function windows(given: Partial<Record<SloWindowMinutes, [evaluated: number, bad: number]>>, fill: 'stable' | 'empty' = 'stable'): Record<SloWindowMinutes, SloWindowCounts> {
  const out = {} as Record<SloWindowMinutes, SloWindowCounts>;
  for (const minutes of SLO_WINDOWS_MINUTES) {
    const g = given[minutes];
    if (g) out[minutes] = { evaluated: g[0], stable: g[0] - g[1] };
    else out[minutes] = fill === 'stable' ? { evaluated: minutes, stable: minutes } : { evaluated: 0, stable: 0 };
  }
  return out;
}

/** Every window entirely unstable. */
function allBad(): Record<SloWindowMinutes, SloWindowCounts> {
  const out = {} as Record<SloWindowMinutes, SloWindowCounts>;
  for (const minutes of SLO_WINDOWS_MINUTES) out[minutes] = { evaluated: minutes, stable: 0 };
  return out;
}

test('constants: tier defaults, the 28-day budget window, the rule table and the windows it needs', () => {
  assert.deepEqual(DEFAULT_OBJECTIVES, { TIER0: 0.999, TIER1: 0.995, TIER2: 0.99, TIER3: 0.95, TIER4: 0.9 });
  assert.equal(BUDGET_WINDOW_MINUTES, 28 * 24 * 60);
  assert.deepEqual(BURN_RATE_RULES, [
    { name: 'page_fast', longMinutes: 60, shortMinutes: 5, factor: 14.4, severity: 'page' },
    { name: 'page_slow', longMinutes: 360, shortMinutes: 30, factor: 6, severity: 'page' },
    { name: 'ticket', longMinutes: 4320, shortMinutes: 360, factor: 1, severity: 'ticket' },
  ]);
  assert.deepEqual([...SLO_WINDOWS_MINUTES], [5, 30, 60, 360, 4320, 40320]);
  const needed = new Set<number>([BUDGET_WINDOW_MINUTES, ...BURN_RATE_RULES.flatMap((r) => [r.longMinutes, r.shortMinutes])]);
  assert.deepEqual([...needed].sort((a, b) => a - b), [...SLO_WINDOWS_MINUTES]);
});

test('objectives: overrides replace single tiers; the schema rejects percentages, 0, 1 and unknown tiers', () => {
  assert.equal(objectiveFor('TIER1'), 0.995);
  const overrides = SloObjectivesSchema.parse({ TIER1: 0.998 });
  assert.equal(objectiveFor('TIER1', overrides), 0.998);
  assert.equal(objectiveFor('TIER2', overrides), 0.99);
  assert.deepEqual(SloObjectivesSchema.parse({}), {});

  const percentage = SloObjectivesSchema.safeParse({ TIER0: 99.9 });
  assert.equal(percentage.success, false);
  assert.deepEqual(percentage.error?.issues[0]?.path, ['TIER0']);
  assert.match(percentage.error?.issues[0]?.message ?? '', /strictly between 0 and 1, e\.g\. 0\.995 for 99\.5%/);
  for (const bad of [0, 1, -0.5, Number.NaN, '0.99']) {
    assert.equal(SloObjectivesSchema.safeParse({ TIER2: bad }).success, false, `${String(bad)} must be rejected`);
  }
  assert.equal(SloObjectivesSchema.safeParse({ TIER5: 0.9 }).success, false);
});

test('all evaluated minutes stable: SLI 1, budget untouched, burn 0, nothing fires', () => {
  const report = evaluateSlo({ objective: 0.999, windows: windows({}) });
  assert.equal(report.sli, 1);
  assert.equal(report.met, true);
  assert.equal(report.errorBudget.badMinutes, 0);
  close(report.errorBudget.allowedBadMinutes, 40.32);
  assert.equal(report.errorBudget.remaining, 1);
  for (const minutes of SLO_WINDOWS_MINUTES) assert.equal(report.burnRates[minutes], 0);
  assert.deepEqual(report.firing, []);
  assert.ok(Object.values(report.rules).every((r) => !r.firing && !r.unreachable && r.note === null));
});

test('nothing evaluated (insufficient data, unmonitored): SLI and burn rates null, nothing spent, nothing fires', () => {
  const report = evaluateSlo({ objective: 0.99, windows: windows({}, 'empty') });
  assert.equal(report.sli, null);
  assert.equal(report.met, null);
  assert.deepEqual(report.errorBudget, { allowedBadMinutes: 0, badMinutes: 0, remaining: 1 });
  for (const minutes of SLO_WINDOWS_MINUTES) assert.equal(report.burnRates[minutes], null);
  assert.deepEqual(report.firing, []);
  assert.equal(report.rules.page_fast.longBurn, null);
});

test('TIER2 budget by hand: 320 bad of 40320 evaluated minutes at 99%', () => {
  const report = evaluateSlo({ objective: 0.99, windows: windows({ 40320: [40320, 320] }) });
  // sli = 40000 / 40320; allowed = 0.01 * 40320 = 403.2; remaining = 1 - 320 / 403.2 = 1 - 0.79365...
  close(report.sli, 40000 / 40320);
  assert.equal(report.met, true);
  close(report.errorBudget.allowedBadMinutes, 403.2);
  assert.equal(report.errorBudget.badMinutes, 320);
  close(report.errorBudget.remaining, 0.20634920634920634);
  close(report.burnRates[40320], 0.7936507936507936);
  assert.deepEqual(report.firing, []);
});

test('budget counts evaluated minutes only: 200 bad of 20000 evaluated (the rest insufficient data) spends it all', () => {
  const report = evaluateSlo({ objective: 0.99, windows: windows({ 40320: [20000, 200] }) });
  close(report.errorBudget.allowedBadMinutes, 200);
  close(report.errorBudget.remaining, 0);
  close(report.sli, 0.99);
  assert.equal(report.met, true);
});

test('budget exhaustion: 520 bad of 40320 at 99% overspends, remaining goes negative', () => {
  const report = evaluateSlo({ objective: 0.99, windows: windows({ 40320: [40320, 520] }) });
  // 1 - 520 / 403.2 = -0.28968...
  close(report.errorBudget.remaining, 1 - 520 / 403.2);
  assert.ok(report.errorBudget.remaining < 0);
  assert.equal(report.met, false);
  close(report.sli, 39800 / 40320);
});

test('fast burn pages: TIER1, 6 bad of the last 60 minutes and 1 of the last 5', () => {
  const report = evaluateSlo({ objective: 0.995, windows: windows({ 5: [5, 1], 30: [30, 6], 60: [60, 6], 360: [360, 6], 4320: [4320, 6], 40320: [40320, 6] }) });
  // 1h: 0.1 / 0.005 = 20 > 14.4; 5m: 0.2 / 0.005 = 40 > 14.4.
  close(report.burnRates[60], 20);
  close(report.burnRates[5], 40);
  // 6h: (6/360) / 0.005 = 3.33 < 6, so the slow page stays quiet; 3d: (6/4320) / 0.005 = 0.28 < 1.
  close(report.burnRates[360], 10 / 3);
  close(report.burnRates[4320], 6 / 4320 / 0.005);
  assert.equal(report.firing.length, 1);
  const alert = report.firing[0]!;
  assert.equal(alert.rule, 'page_fast');
  assert.equal(alert.severity, 'page');
  assert.equal(alert.threshold, 14.4);
  close(alert.longBurn, 20);
  close(alert.shortBurn, 40);
  assert.equal(report.rules.page_fast.firing, true);
  close(report.rules.page_fast.errorRateThreshold, 0.072);
  assert.equal(report.rules.page_slow.firing, false);
  assert.equal(report.rules.ticket.firing, false);
});

test('a short spike trips only the short window: no page', () => {
  // TIER1: the last 5 minutes all unstable (burn 200) but only 4 of the hour (burn 13.3 < 14.4).
  const report = evaluateSlo({ objective: 0.995, windows: windows({ 5: [5, 5], 30: [30, 4], 60: [60, 4], 360: [360, 4], 4320: [4320, 4], 40320: [40320, 4] }) });
  close(report.burnRates[5], 200);
  close(report.burnRates[60], 4 / 60 / 0.005);
  assert.ok(report.burnRates[60]! < 14.4);
  assert.deepEqual(report.firing, []);
});

test('a burn that has ended stops paging: the long window is hot, the short one is clean', () => {
  const report = evaluateSlo({ objective: 0.995, windows: windows({ 5: [5, 0], 60: [60, 12] }) });
  close(report.burnRates[60], 40);
  assert.equal(report.burnRates[5], 0);
  assert.deepEqual(report.firing, []);
});

test('burn rates use evaluated minutes: 6 bad of 30 evaluated in the last hour is a 20% error rate', () => {
  const report = evaluateSlo({ objective: 0.995, windows: windows({ 5: [2, 1], 60: [30, 6] }) });
  close(report.burnRates[60], 40);
  close(report.burnRates[5], 100);
  assert.deepEqual(report.firing.map((f) => f.rule), ['page_fast']);
});

test('slow burn pages and opens a ticket; firing lists pages before tickets', () => {
  // TIER2: 10% of the last 6 hours and 30 minutes unstable (burn 10 > 6), 3% of the last 3 days (burn 3 > 1),
  // but only 10% of the last hour (burn 10 < 14.4).
  const report = evaluateSlo({ objective: 0.99, windows: windows({ 5: [5, 1], 30: [30, 3], 60: [60, 6], 360: [360, 36], 4320: [4320, 129.6], 40320: [40320, 129.6] }) });
  close(report.burnRates[360], 10);
  close(report.burnRates[30], 10);
  close(report.burnRates[4320], 3);
  assert.deepEqual(report.firing.map((f) => [f.rule, f.severity]), [['page_slow', 'page'], ['ticket', 'ticket']]);
});

test('boundary: a burn rate exactly at the factor does not fire (strictly greater, as in the SRE workbook)', () => {
  // TIER4, page_slow: 216 of 360 and 18 of 30 are a 60% error rate, a burn of exactly 6 (computed 6.000000000000001).
  const at = evaluateSlo({ objective: 0.9, windows: windows({ 30: [30, 18], 360: [360, 216] }) });
  close(at.burnRates[360], 6);
  assert.ok(at.burnRates[360]! > 6, 'floating point lands above 6; the tolerance must still call it equal');
  assert.equal(at.rules.page_slow.firing, false);
  assert.equal(at.rules.page_slow.unreachable, false);
  // One more bad minute in each window tips both above 6.
  const above = evaluateSlo({ objective: 0.9, windows: windows({ 30: [30, 19], 360: [360, 217] }) });
  assert.equal(above.rules.page_slow.firing, true);
  // The ticket at factor 1: 40 bad of 4000 at 99% is exactly the sustainable rate.
  const ticketAt = evaluateSlo({ objective: 0.99, windows: windows({ 360: [360, 4], 4320: [4000, 40] }) });
  close(ticketAt.burnRates[4320], 1);
  assert.equal(ticketAt.rules.ticket.firing, false);
  const ticketAbove = evaluateSlo({ objective: 0.99, windows: windows({ 360: [360, 4], 4320: [4000, 41] }) });
  assert.equal(ticketAbove.rules.ticket.firing, true);
  assert.equal(burnExceeds(6.000000000000001, 6), false);
  assert.equal(burnExceeds(6.00001, 6), true);
  assert.equal(burnExceeds(5.999999999999999, 6), false);
});

test('TIER4: page_fast can never fire at 90% (burn is at most 10) and the report says so', () => {
  const report = evaluateSlo({ objective: DEFAULT_OBJECTIVES.TIER4, windows: allBad() });
  close(report.maxBurnRate, 10);
  for (const minutes of SLO_WINDOWS_MINUTES) close(report.burnRates[minutes], 10);
  assert.equal(report.rules.page_fast.unreachable, true);
  assert.equal(report.rules.page_fast.firing, false);
  assert.match(report.rules.page_fast.note ?? '', /objective 90% .* at most 10 .* never above 14\.4: page_fast cannot fire/);
  assert.equal(report.rules.page_slow.unreachable, false);
  assert.equal(report.rules.ticket.unreachable, false);
  // The slower page still catches it.
  assert.deepEqual(report.firing.map((f) => f.rule), ['page_slow', 'ticket']);
  assert.equal(report.sli, 0);
  close(report.errorBudget.remaining, -9);
  // TIER3 at 95% can reach 20: every rule can fire.
  const tier3 = evaluateSlo({ objective: DEFAULT_OBJECTIVES.TIER3, windows: allBad() });
  assert.ok(Object.values(tier3.rules).every((r) => !r.unreachable && r.firing));
});

test('unreachable boundary: at objective 1 - 1/6 the maximum burn is exactly 6, so page_slow cannot fire', () => {
  const report = evaluateSlo({ objective: 1 - 1 / 6, windows: allBad() });
  close(report.maxBurnRate, 6);
  assert.equal(report.rules.page_slow.unreachable, true);
  assert.equal(report.rules.page_fast.unreachable, true);
  assert.equal(report.rules.ticket.unreachable, false);
  assert.deepEqual(report.firing.map((f) => f.rule), ['ticket']);
});

test('invalid input is refused, not silently judged', () => {
  for (const objective of [0, 1, 99.5, -0.1, Number.NaN]) {
    assert.throws(() => evaluateSlo({ objective, windows: windows({}) }), RangeError, `objective ${objective}`);
  }
  assert.throws(() => evaluateSlo({ objective: 0.99, windows: windows({ 60: [60, -1] }) }), /stable <= evaluated/);
  assert.throws(() => evaluateSlo({ objective: 0.99, windows: { ...windows({}), 60: { evaluated: 10, stable: 11 } } }), /60-minute window/);
  assert.throws(() => evaluateSlo({ objective: 0.99, windows: { ...windows({}), 5: { evaluated: Number.NaN, stable: 0 } } }), RangeError);
  const missing: Partial<Record<SloWindowMinutes, SloWindowCounts>> = windows({});
  delete missing[4320];
  assert.throws(() => evaluateSlo({ objective: 0.99, windows: missing as Record<SloWindowMinutes, SloWindowCounts> }), /no counts for the 4320-minute window/);
});

test('a new model is not paged for its budget until a short window of verdicts exists', () => {
  // Two judged minutes, one unstable: 50% bad is 100x the budget rate on every window.
  const fresh = evaluateSlo({ objective: 0.995, windows: windows({ 5: [2, 1], 30: [2, 1], 60: [2, 1], 360: [2, 1], 4320: [2, 1], 40320: [2, 1] }) });
  assert.deepEqual(fresh.firing, []);
  assert.equal(fresh.rules.page_fast.firing, false);
  assert.match(fresh.rules.page_fast.note!, /2 judged minutes in the 60-minute window, fewer than the 5/);
  // Five judged minutes, all unstable: the fast rule has its short window's worth and fires.
  const five = evaluateSlo({ objective: 0.995, windows: windows({ 5: [5, 5], 30: [5, 5], 60: [5, 5], 360: [5, 5], 4320: [5, 5], 40320: [5, 5] }) });
  assert.deepEqual(five.firing.map((f) => f.rule), ['page_fast']);
});
