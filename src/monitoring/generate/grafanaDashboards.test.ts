import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type GrafanaPanel, GRAFANA_SCHEMA_VERSION, dashboardUid, grafanaDashboards } from './grafanaDashboards.js';
import { entryOf, feedModel, feedType, storiesModel, storiesType } from './testEntries.js';

const entries = [
  entryOf(storiesModel('baseline'), storiesType),
  entryOf(storiesModel('experiment'), storiesType),
  entryOf(feedModel('ig_feed_main_dnn:v1', 'baseline'), feedType),
  entryOf(feedModel('ig_feed_main_dnn:v9', 'retired'), feedType),
];

const queries = (panels: GrafanaPanel[]) => panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));

test('a fleet overview, one dashboard per surface and one per model type, as valid JSON with stable uids', () => {
  const dashboards = grafanaDashboards(entries);
  assert.deepEqual(
    dashboards.map((d) => d.file),
    ['fleet-overview.json', 'surface-feed.json', 'surface-stories.json', 'model-type-ig_feed_main_dnn.json', 'model-type-ig_stories_tray_mtml.json'],
  );
  const uids = dashboards.map((d) => d.dashboard.uid);
  assert.equal(new Set(uids).size, uids.length, 'uids are unique');
  for (const uid of uids) assert.ok(uid.length <= 40 && /^[a-z0-9-]+$/.test(uid), `${uid} is a valid Grafana uid`);
  assert.deepEqual(grafanaDashboards(entries).map((d) => d.dashboard.uid), uids, 'the same registry gives the same uids');
  assert.equal(dashboardUid('modelfleet-fleet-overview'), dashboards[0]!.dashboard.uid);
  for (const { dashboard } of dashboards) {
    assert.deepEqual(JSON.parse(JSON.stringify(dashboard)), dashboard);
    assert.equal(dashboard.schemaVersion, GRAFANA_SCHEMA_VERSION);
    assert.equal(dashboard.templating.list[0]!['type'], 'datasource');
    const ids = dashboard.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, `${dashboard.title}: panel ids are unique`);
    for (const panel of dashboard.panels.filter((p) => p.type !== 'row')) {
      assert.equal(panel.datasource?.uid, '${datasource}', `${dashboard.title} / ${panel.title} uses the datasource variable`);
      assert.ok(panel.gridPos.x + panel.gridPos.w <= 24);
    }
  }
});

test('the fleet overview shows stability by surface and funnel stage, the unstable models and burn rates', () => {
  const overview = grafanaDashboards(entries)[0]!.dashboard;
  const exprs = queries(overview.panels);
  assert.ok(exprs.includes('avg by (surface) (modelfleet:model_stable:rate1h)'));
  assert.ok(exprs.includes('avg by (funnel_stage) (modelfleet:model_stable:rate1h)'));
  assert.ok(exprs.includes('modelfleet_model_stable == 0'));
  assert.ok(exprs.some((e) => e.startsWith('topk(10, modelfleet:model_burn_rate:1h)')));
});

test("a model type's dashboard has calibration and NE per task with their bands, stability, SLO and traffic", () => {
  const stories = grafanaDashboards(entries).find((d) => d.file === 'model-type-ig_stories_tray_mtml.json')!.dashboard;
  const titles = stories.panels.map((p) => p.title);
  for (const task of ['PLIKE', 'PCOMMENT']) {
    assert.ok(titles.includes(`${task} calibration (1h) and band`));
    assert.ok(titles.includes(`${task} normalized entropy (1h) and ceiling`));
    const calibration = stories.panels.find((p) => p.title === `${task} calibration (1h) and band`)!;
    assert.deepEqual(
      calibration.targets!.map((t) => t.expr),
      [
        `modelfleet:task_calibration:ratio_rate1h{model_type="ig_stories_tray_mtml",task="${task}",model=~"$model"}`,
        `max by (model) (modelfleet_task_calibration_min{model_type="ig_stories_tray_mtml",task="${task}",model=~"$model"})`,
        `min by (model) (modelfleet_task_calibration_max{model_type="ig_stories_tray_mtml",task="${task}",model=~"$model"})`,
      ],
    );
  }
  const exprs = queries(stories.panels);
  assert.ok(exprs.some((e) => e.startsWith('modelfleet:model_stable:rate1h{')));
  assert.ok(exprs.some((e) => e.startsWith('modelfleet:model_sli:ratio_28d{')));
  assert.ok(exprs.some((e) => e.startsWith('sum by (model) (modelfleet:task_predictions:rate5m{')));
  const feed = grafanaDashboards(entries).find((d) => d.file === 'model-type-ig_feed_main_dnn.json')!.dashboard;
  assert.ok(!feed.description.includes('v9'), 'a retired model is not listed');
});
