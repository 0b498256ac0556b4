import assert from 'node:assert/strict';
import { test } from 'node:test';
import { monitoringCoverage } from './coverage.js';
import { alertmanagerConfig } from './generate/alertmanagerConfig.js';
import { entryOf, feedModel, feedType, storiesModel, storiesType } from './generate/testEntries.js';

test('a live model without thresholds for one of its tasks is a gap that says which task and how to fix it', () => {
  const missing = storiesModel('experiment', { thresholds: { PLIKE: storiesModel('baseline').thresholds['PLIKE']! } });
  const report = monitoringCoverage(7, [entryOf(storiesModel('baseline'), storiesType), entryOf(missing, storiesType)], alertmanagerConfig());
  assert.equal(report.seq, 7);
  assert.equal(report.models, 2);
  assert.equal(report.covered, 1);
  assert.equal(report.gaps.length, 1);
  const [gap] = report.gaps;
  assert.equal(gap!.kind, 'thresholds');
  assert.equal(gap!.model, 'ig_stories_tray_mtml:v42');
  assert.match(gap!.message, /no thresholds for PCOMMENT/);
  assert.match(gap!.fix, /modelfleet thresholds learn ig_stories_tray_mtml:v42/);
});

test('retired models and candidates without traffic need no coverage; a candidate with traffic does', () => {
  const none = { thresholds: {} };
  const report = monitoringCoverage(
    1,
    [
      entryOf(feedModel('ig_feed_main_dnn:v1', 'retired', none), feedType),
      entryOf(feedModel('ig_feed_main_dnn:v2', 'candidate', { ...none, trafficShare: 0 }), feedType),
      entryOf(feedModel('ig_feed_main_dnn:v3', 'candidate', { ...none, trafficShare: 0.01 }), feedType),
    ],
    alertmanagerConfig(),
  );
  assert.deepEqual(
    report.gaps.map((g) => [g.model, g.kind]),
    [['ig_feed_main_dnn:v3', 'thresholds']],
  );
});

test('a tier whose receiver has no URL is a routing gap for each of its models', () => {
  const report = monitoringCoverage(1, [entryOf(storiesModel('baseline'), storiesType), entryOf(feedModel('ig_feed_main_dnn:v1', 'baseline'), feedType)], alertmanagerConfig({ receivers: { page: [] } }));
  assert.deepEqual(
    report.gaps.map((g) => [g.model, g.kind]),
    [['ig_stories_tray_mtml:v41', 'routing']],
  );
  assert.match(report.gaps[0]!.message, /TIER1 alerts .* routed to receiver 'page', which has no webhook URL/);
  // TIER2 at night goes to 'ticket': without it, TIER2 has a gap too.
  const night = monitoringCoverage(1, [entryOf(feedModel('ig_feed_main_dnn:v1', 'baseline'), feedType)], alertmanagerConfig({ receivers: { ticket: [] } }));
  assert.deepEqual(night.gaps.map((g) => g.kind), ['routing']);
});

test('a TIER0/TIER1 model whose on-call is not 24x7 is an on-call gap', () => {
  const type = { ...storiesType, oncall: { rotation: 'stories-oncall', coverage: 'business_hours' as const } };
  const report = monitoringCoverage(1, [entryOf(storiesModel('baseline'), type)], alertmanagerConfig());
  assert.deepEqual(report.gaps.map((g) => g.kind), ['oncall']);
  assert.match(report.gaps[0]!.message, /TIER1 pages at any hour, but on-call stories-oncall covers business hours/);
  const blank = monitoringCoverage(1, [entryOf(storiesModel('baseline'), { ...storiesType, oncall: { rotation: '  ', coverage: '24x7' } })], alertmanagerConfig());
  assert.match(blank.gaps[0]!.message, /no on-call rotation/);
});
