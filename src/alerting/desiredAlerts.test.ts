import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DesiredAlertSchema, alertFingerprint, formatBand } from './alert.js';
import { budgetBurnAlert, modelUnstableAlert } from './desiredAlerts.js';
import { evaluationOf, settings, storiesModel, storiesType } from './testKit.js';

const mondayNoon = new Date('2024-07-01T12:00:00Z');
const saturdayNight = new Date('2024-07-06T23:00:00Z');

test('an unstable experiment tells on-call everything, and to end it with the exact API call and CLI command', () => {
  const model = storiesModel('experiment');
  const alert = modelUnstableAlert(evaluationOf(model, mondayNoon), model, storiesType, settings);
  assert.ok(alert);
  assert.equal(DesiredAlertSchema.safeParse(alert).success, true);
  assert.equal(alert.kind, 'ModelUnstable');
  assert.equal(alert.fingerprint, alertFingerprint('ModelUnstable', model.id));
  assert.equal(alert.severity, 'page');
  assert.equal(alert.summary, 'ig_stories_tray_mtml:v42 (TIER1 experiment) is unstable: PLIKE calibration 1.31 outside [0.9, 1.1]');
  assert.deepEqual(alert.labels, {
    alertname: 'ModelUnstable',
    model: 'ig_stories_tray_mtml:v42',
    model_type: 'ig_stories_tray_mtml',
    team: 'stories-ranking',
    tier: 'TIER1',
    role: 'experiment',
    severity: 'page',
    task: 'PLIKE',
    metric: 'calibration',
  });
  const d = alert.details;
  assert.equal(d.businessFunction, 'Ranks the stories in the main tray');
  assert.deepEqual([d.tier, d.ownerTeam, d.oncall.rotation, d.oncall.coverage, d.role, d.trafficShare, d.baseline], [
    'TIER1',
    'stories-ranking',
    'stories-oncall',
    '24x7',
    'experiment',
    0.05,
    'ig_stories_tray_mtml:v41',
  ]);
  assert.deepEqual(d.tasks, [{ task: 'PLIKE', metric: 'calibration', value: 1.31, band: { min: 0.9, max: 1.1 } }]);
  assert.equal(d.since, mondayNoon.toISOString());
  assert.deepEqual(d.evaluation, { at: mondayNoon.toISOString(), windowMinutes: 60 });
  assert.deepEqual(d.links, {
    model: 'https://modelfleet.example.com/models/ig_stories_tray_mtml%3Av42',
    stability: 'https://modelfleet.example.com/api/v1/models/ig_stories_tray_mtml%3Av42/stability',
    history: 'https://modelfleet.example.com/api/v1/models/ig_stories_tray_mtml%3Av42/history',
  });
  assert.equal(d.action.kind, 'end_experiment');
  assert.match(d.action.text, /^end the experiment: its traffic \(5%\) goes back to the baseline ig_stories_tray_mtml:v41\./);
  assert.deepEqual(d.action.http, {
    method: 'POST',
    path: '/api/v1/models/ig_stories_tray_mtml%3Av42/end-experiment',
    url: 'https://modelfleet.example.com/api/v1/models/ig_stories_tray_mtml%3Av42/end-experiment',
  });
  assert.equal(d.action.cli, 'modelfleet models end-experiment ig_stories_tray_mtml:v42');
  assert.match(d.routing, /TIER1 pages at any hour/);
});

test('an unstable baseline says to page the owner and never to turn it off, with no end action', () => {
  const model = storiesModel('baseline');
  const alert = modelUnstableAlert(evaluationOf(model, saturdayNight), model, storiesType, settings);
  assert.ok(alert);
  assert.equal(alert.severity, 'page');
  assert.equal(alert.details.action.kind, 'page_owner');
  assert.match(alert.details.action.text, /^page the owner: stories-oncall \(24x7\) and team stories-ranking; do not turn it off/);
  assert.equal(alert.details.action.http, undefined);
  assert.equal(alert.details.action.cli, undefined);
});

test('a shadow and a candidate can be ended too; without a baseline nothing is ended and the owner is paged', () => {
  for (const role of ['shadow', 'candidate'] as const) {
    const model = storiesModel(role);
    const alert = modelUnstableAlert(evaluationOf(model, mondayNoon), model, storiesType, settings);
    assert.equal(alert?.details.action.kind, 'end_experiment', role);
    assert.ok(alert?.details.action.http, role);
  }
  const model = storiesModel('experiment');
  const orphan = modelUnstableAlert(evaluationOf(model, mondayNoon), model, { ...storiesType, baselineModelId: null }, settings);
  assert.equal(orphan?.details.action.kind, 'page_owner');
  assert.match(orphan?.details.action.text ?? '', /no baseline to move traffic back to: page stories-oncall/);
  assert.equal(orphan?.details.action.http, undefined);
});

test('holdout and retired models get their own advice and no end action', () => {
  const holdout = storiesModel('holdout', { id: 'ig_stories_tray_mtml:v30', trafficShare: 0.01 });
  const h = modelUnstableAlert(evaluationOf(holdout, mondayNoon), holdout, storiesType, settings);
  assert.match(h?.details.action.text ?? '', /the holdout \(1% of traffic\) measures what launches are worth/);
  assert.equal(h?.details.action.http, undefined);
  const retired = storiesModel('retired', { trafficShare: 0 });
  const r = modelUnstableAlert(evaluationOf(retired, mondayNoon), retired, storiesType, settings);
  assert.match(r?.details.action.text ?? '', /retired: it should serve no traffic/);
});

test('a stable model raises nothing', () => {
  const model = storiesModel('experiment');
  assert.equal(modelUnstableAlert(evaluationOf(model, mondayNoon, false), model, storiesType, settings), null);
});

test('a TIER2 model unstable on a Saturday night opens a ticket, and the alert says why', () => {
  const model = storiesModel('experiment', { effectiveCriticality: 'TIER2' });
  const alert = modelUnstableAlert(evaluationOf(model, saturdayNight), model, storiesType, settings);
  assert.equal(alert?.severity, 'ticket');
  assert.equal(alert?.labels.severity, 'ticket');
  assert.equal(alert?.details.typeTier, 'TIER1');
  assert.match(alert?.details.routing ?? '', /TIER2 pages only within business hours .* it is Sat 23:00 UTC/);
});

test('several violations are all listed; the summary leads with the first', () => {
  const model = storiesModel('experiment');
  const evaluation = evaluationOf(model, mondayNoon);
  const [plike] = evaluation.tasks;
  assert.ok(plike);
  evaluation.tasks = [{ ...plike, violations: [...plike.violations, { metric: 'ne', value: 0.99, band: { min: null, max: 0.95 } }] }, { ...plike, task: 'PCOMMENT' }];
  const alert = modelUnstableAlert(evaluation, model, storiesType, settings);
  assert.equal(alert?.details.tasks.length, 3);
  assert.match(alert?.summary ?? '', /PLIKE calibration 1\.31 outside \[0\.9, 1\.1\] \(and 2 more\)$/);
  assert.equal(alert?.labels.task, 'PCOMMENT,PLIKE');
  assert.equal(alert?.labels.metric, 'calibration,ne');
  assert.equal(formatBand({ min: null, max: 0.95 }), 'at most 0.95');
});

test('budget-burn alerts are one per model and rule, with the rule severity capped by tier', () => {
  const model = storiesModel('baseline');
  const fast = budgetBurnAlert({ window: '1h/5m', burnRate: 15.2, threshold: 14.4, objective: 0.99, severity: 'page', at: saturdayNight }, model, storiesType, settings);
  const slow = budgetBurnAlert({ window: '3d/6h', burnRate: 1.3, threshold: 1, objective: 0.99, severity: 'ticket', at: saturdayNight }, model, storiesType, settings);
  assert.notEqual(fast.fingerprint, slow.fingerprint);
  assert.equal(fast.fingerprint, alertFingerprint('StabilityBudgetBurn', model.id, '1h/5m'));
  assert.deepEqual([fast.severity, slow.severity], ['page', 'ticket']);
  assert.equal(fast.labels.burn_window, '1h/5m');
  assert.equal(fast.labels.task, undefined);
  assert.equal(fast.summary, 'ig_stories_tray_mtml:v41 (TIER1 baseline) is burning its stability budget 15.2x over 1h/5m (fires at 14.4x, objective 99% stable)');
  assert.deepEqual(fast.details.tasks, []);
  assert.match(fast.details.action.text, /do not turn it off/);
  assert.equal(DesiredAlertSchema.safeParse(fast).success, true);

  const tier3 = storiesModel('baseline', { effectiveCriticality: 'TIER3' });
  assert.equal(budgetBurnAlert({ window: '1h/5m', burnRate: 20, threshold: 14.4, objective: null, severity: 'page', at: mondayNoon }, tier3, storiesType, settings).severity, 'ticket');
});

test('fingerprints are stable and distinct by kind, model and rule', () => {
  assert.equal(alertFingerprint('ModelUnstable', 'a:v1'), alertFingerprint('ModelUnstable', 'a:v1'));
  assert.match(alertFingerprint('ModelUnstable', 'a:v1'), /^[0-9a-f]{16}$/);
  assert.notEqual(alertFingerprint('ModelUnstable', 'a:v1'), alertFingerprint('ModelUnstable', 'a:v2'));
  assert.notEqual(alertFingerprint('ModelUnstable', 'a:v1'), alertFingerprint('StabilityBudgetBurn', 'a:v1'));
  assert.notEqual(alertFingerprint('StabilityBudgetBurn', 'a:v1', '1h/5m'), alertFingerprint('StabilityBudgetBurn', 'a:v1', '6h/30m'));
});

test('describes an NE breach against its ceiling, not as outside a band', async () => {
  const { describeViolation } = await import('./alert.js');
  assert.equal(describeViolation({ task: 'PLIKE', metric: 'ne', value: 0.9712, band: { min: null, max: 0.9 } }), 'PLIKE ne 0.9712 above 0.9');
  assert.equal(describeViolation({ task: 'PLIKE', metric: 'calibration', value: 0.5, band: { min: 0.8, max: null } }), 'PLIKE calibration 0.5 below 0.8');
});
