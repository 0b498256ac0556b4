import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'yaml';
import { type AlertingRule, type PrometheusRuleFile, type RecordingRule, prometheusRules, prometheusRulesYaml } from './prometheusRules.js';
import { entryOf, feedModel, feedType, storiesModel, storiesType } from './testEntries.js';

const options = { baseUrl: 'https://modelfleet.example.com' };
const alerts = (file: PrometheusRuleFile): AlertingRule[] => file.groups.flatMap((g) => g.rules.filter((r): r is AlertingRule => 'alert' in r));
const alertsOf = (file: PrometheusRuleFile, model: string, name = 'ModelUnstable') => alerts(file).filter((a) => a.labels['model'] === model && a.alert === name);

test('one group per model type with monitored models, recording before alerting, evaluated every minute', () => {
  const file = prometheusRules([entryOf(storiesModel('baseline'), storiesType), entryOf(feedModel('ig_feed_main_dnn:v1', 'baseline'), feedType)], options);
  assert.deepEqual(
    file.groups.map((g) => g.name),
    ['modelfleet/ig_feed_main_dnn', 'modelfleet/ig_stories_tray_mtml'],
  );
  for (const group of file.groups) {
    assert.equal(group.interval, '1m');
    const firstAlert = group.rules.findIndex((r) => 'alert' in r);
    assert.ok(firstAlert > 0 && group.rules.slice(firstAlert).every((r) => 'alert' in r), 'alerts come after every recording they read');
  }
  const records = new Set(file.groups[0]!.rules.filter((r): r is RecordingRule => 'record' in r).map((r) => r.record));
  for (const name of ['modelfleet:task_calibration:ratio_rate5m', 'modelfleet:task_ne:ratio_rate1h', 'modelfleet:task_stable:rate1h', 'modelfleet:model_stable:rate1h', 'modelfleet:model_sli:ratio_28d', 'modelfleet:model_burn_rate:5m']) {
    assert.ok(records.has(name), `${name} is recorded`);
  }
});

test('the per-task verdict joins calibration and NE with the threshold gauges on model and task', () => {
  const file = prometheusRules([entryOf(storiesModel('baseline'), storiesType)], options);
  const stable = file.groups[0]!.rules.find((r): r is RecordingRule => 'record' in r && r.record === 'modelfleet:task_stable:rate1h')!;
  assert.match(stable.expr, /modelfleet:task_calibration:ratio_rate1h\{model_type="ig_stories_tray_mtml"\} >= bool on \(model, model_type, task\) max by \(model, model_type, task\) \(modelfleet_task_calibration_min/);
  assert.match(stable.expr, /<= bool on \(model, model_type, task\) min by \(model, model_type, task\) \(modelfleet_task_calibration_max/);
  assert.match(stable.expr, /modelfleet:task_ne:ratio_rate1h\{[^}]*\} <= bool on \(model, model_type, task\) min by \(model, model_type, task\) \(modelfleet_task_ne_max/);
  const model = file.groups[0]!.rules.find((r): r is RecordingRule => 'record' in r && r.record === 'modelfleet:model_stable:rate1h')!;
  assert.match(model.expr, /^min by \(model, model_type\)/);
  assert.deepEqual(model.labels, { app: 'ig', surface: 'stories', funnel_stage: 'late_stage_ranking', team: 'stories-ranking' });
});

test('ModelUnstable carries severity by tier, tier, team, type, model, role and on-call', () => {
  const file = prometheusRules(
    [
      entryOf(storiesModel('baseline'), storiesType),
      entryOf(feedModel('ig_feed_main_dnn:v1', 'baseline'), feedType),
      entryOf(feedModel('ig_feed_main_dnn:v2', 'experiment', { effectiveCriticality: 'TIER3' }), feedType),
      entryOf(feedModel('ig_feed_main_dnn:v3', 'shadow', { effectiveCriticality: 'TIER4' }), feedType),
    ],
    options,
  );
  const [tier1] = alertsOf(file, 'ig_stories_tray_mtml:v41');
  assert.deepEqual(tier1!.labels, { severity: 'page', tier: 'TIER1', team: 'stories-ranking', model_type: 'ig_stories_tray_mtml', model: 'ig_stories_tray_mtml:v41', role: 'baseline', oncall: 'stories-oncall' });
  assert.equal(tier1!.for, '2m');
  assert.equal(tier1!.expr, 'modelfleet:model_stable:rate1h{model="ig_stories_tray_mtml:v41"} == 0');
  // TIER2 keeps "page": Alertmanager's business-hours interval turns it into a ticket at night.
  assert.equal(alertsOf(file, 'ig_feed_main_dnn:v1')[0]!.labels['severity'], 'page');
  assert.equal(alertsOf(file, 'ig_feed_main_dnn:v2')[0]!.labels['severity'], 'ticket');
  assert.equal(alertsOf(file, 'ig_feed_main_dnn:v3')[0]!.labels['severity'], 'heads_up');
});

test('the annotations tell on-call what the model does and what to do: end an experiment, page for a baseline', () => {
  const file = prometheusRules([entryOf(storiesModel('baseline'), storiesType), entryOf(storiesModel('experiment'), storiesType)], options);
  const experiment = alertsOf(file, 'ig_stories_tray_mtml:v42')[0]!;
  assert.match(experiment.annotations['description']!, /Ranks the stories in the main tray/);
  assert.match(experiment.annotations['action']!, /modelfleet models end-experiment ig_stories_tray_mtml:v42/);
  assert.equal(experiment.annotations['cli'], 'modelfleet models end-experiment ig_stories_tray_mtml:v42');
  const baseline = alertsOf(file, 'ig_stories_tray_mtml:v41')[0]!;
  assert.match(baseline.annotations['action']!, /^page the owner: stories-oncall \(24x7\)/);
  assert.equal(baseline.annotations['cli'], undefined);
  assert.equal(baseline.annotations['console'], 'https://modelfleet.example.com/models/ig_stories_tray_mtml%3Av41');
});

test('burn-rate alerts follow the tier objective; a rule that cannot fire at the objective is left out', () => {
  const file = prometheusRules(
    [entryOf(storiesModel('baseline'), storiesType), entryOf(feedModel('ig_feed_main_dnn:v3', 'shadow', { effectiveCriticality: 'TIER4' }), feedType)],
    { ...options, objectives: { TIER1: 0.99 } },
  );
  const tier1 = alertsOf(file, 'ig_stories_tray_mtml:v41', 'StabilityBudgetBurn');
  assert.deepEqual(
    tier1.map((a) => [a.labels['burn_window'], a.labels['severity']]),
    [
      ['1h/5m', 'page'],
      ['6h/30m', 'page'],
      ['3d/6h', 'ticket'],
    ],
  );
  assert.match(tier1[0]!.expr, /modelfleet:model_burn_rate:1h\{model="ig_stories_tray_mtml:v41"\} > 14.4\nand on \(model\) modelfleet:model_burn_rate:5m\{[^}]*\} > 14.4/);
  const objective = file.groups.find((g) => g.name.endsWith('mtml'))!.rules.find((r): r is RecordingRule => 'record' in r && r.record === 'modelfleet:model_slo_objective')!;
  assert.equal(objective.expr, 'vector(0.99)');
  // TIER4's 90% objective: 14.4 x 10% is over 100% of minutes, so only the slower rules remain, as heads-ups.
  assert.deepEqual(
    alertsOf(file, 'ig_feed_main_dnn:v3', 'StabilityBudgetBurn').map((a) => [a.labels['burn_window'], a.labels['severity']]),
    [
      ['6h/30m', 'heads_up'],
      ['3d/6h', 'heads_up'],
    ],
  );
});

test('retired models and models without thresholds get no rules; a type left with none gets no group', () => {
  const file = prometheusRules(
    [
      entryOf(storiesModel('baseline'), storiesType),
      entryOf(storiesModel('retired'), storiesType),
      entryOf(feedModel('ig_feed_main_dnn:v1', 'baseline', { thresholds: {} }), feedType),
    ],
    options,
  );
  assert.deepEqual(file.groups.map((g) => g.name), ['modelfleet/ig_stories_tray_mtml']);
  const yaml = prometheusRulesYaml(file);
  assert.ok(!yaml.includes('ig_stories_tray_mtml:v42'), 'the retired model appears nowhere');
  assert.ok(!yaml.includes('ig_feed_main_dnn'), 'the model without thresholds appears nowhere');
  assert.deepEqual(prometheusRules([entryOf(storiesModel('retired'), storiesType)], options), { groups: [] });
});

test('registry text cannot start a Go template action, and the YAML round-trips to the same object', () => {
  const file = prometheusRules([entryOf(feedModel('ig_feed_main_dnn:v1', 'baseline'), feedType)], options);
  const description = alertsOf(file, 'ig_feed_main_dnn:v1')[0]!.annotations['description']!;
  assert.match(description, /Ranks the main feed \{\{ "\{\{" \}\} not a template \}\}/);
  const yaml = prometheusRulesYaml(file);
  assert.ok(!/[&*]a\d/.test(yaml), 'no YAML anchors or aliases');
  assert.deepEqual(parse(yaml), JSON.parse(JSON.stringify(file)));
});
