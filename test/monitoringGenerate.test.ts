import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { runCli, showRun } from './cliRunner.js';
import { TestServer, forEachDatabase, sample, seed } from './harness.js';

const PROMTOOL = '/usr/bin/promtool';
const AMTOOL = '/usr/bin/amtool';
const missingTool = (path: string, pkg: string) => (existsSync(path) ? false : `${path} is not installed (Debian package ${pkg}): the generated file is not checked by the real tool`);

const TYPE = 'ig_feed_main_mtml';
const BASELINE = `${TYPE}:v1`;
const EXPERIMENT = `${TYPE}:v2`;
const band = { calibration: { min: 0.9, max: 1.1 }, neMax: 0.95 };

function run(bin: string, args: string[], cwd?: string) {
  const result = spawnSync(bin, args, { encoding: 'utf8', ...(cwd ? { cwd } : {}) });
  return { code: result.status, output: `${result.stdout}${result.stderr}` };
}

/**
 * promtool's rule unit test over synthetic counters: the baseline predicts 1.3x its positives (calibration
 * 1.3, outside [0.9, 1.1]) with NE 0.8, the experiment is calibrated. Only the baseline's ModelUnstable
 * fires, and the recorded calibration and NE are the values the counters imply.
 */
function ruleUnitTest(rulesFile: string): string {
  // promtool compares annotations in full; ModelUnstable's hold no template, so they expand to themselves.
  const rules = parse(readFileSync(rulesFile, 'utf8')) as { groups: Array<{ rules: Array<{ alert?: string; labels?: Record<string, string>; annotations?: Record<string, string> }> }> };
  const annotations = rules.groups.flatMap((g) => g.rules).find((r) => r.alert === 'ModelUnstable' && r.labels?.['model'] === BASELINE)!.annotations;
  // 1000 weight, 50 positives a minute: p = 0.05, H(p) = 0.198515; log loss 0.8 x H(p) x 1000 a minute.
  const logLoss = 0.8 * -(0.05 * Math.log(0.05) + 0.95 * Math.log(0.95)) * 1000;
  const series = (model: string, task: string, score: number) => [
    { series: `modelfleet_prediction_weight_total{model="${model}",model_type="${TYPE}",task="${task}"}`, values: '0+1000x90' },
    { series: `modelfleet_prediction_label_weighted_total{model="${model}",model_type="${TYPE}",task="${task}"}`, values: '0+50x90' },
    { series: `modelfleet_prediction_score_weighted_total{model="${model}",model_type="${TYPE}",task="${task}"}`, values: `0+${score}x90` },
    { series: `modelfleet_prediction_log_loss_weighted_total{model="${model}",model_type="${TYPE}",task="${task}"}`, values: `0+${logLoss}x90` },
    { series: `modelfleet_predictions_total{model="${model}",model_type="${TYPE}",task="${task}"}`, values: '0+1000x90' },
    { series: `modelfleet_task_calibration_min{model="${model}",model_type="${TYPE}",task="${task}"}`, values: '0.9x90' },
    { series: `modelfleet_task_calibration_max{model="${model}",model_type="${TYPE}",task="${task}"}`, values: '1.1x90' },
    { series: `modelfleet_task_ne_max{model="${model}",model_type="${TYPE}",task="${task}"}`, values: '0.95x90' },
  ];
  const spec = {
    rule_files: [rulesFile],
    evaluation_interval: '1m',
    tests: [
      {
        interval: '1m',
        input_series: [...series(BASELINE, 'PLIKE', 65), ...series(BASELINE, 'PCOMMENT', 50), ...series(EXPERIMENT, 'PLIKE', 50), ...series(EXPERIMENT, 'PCOMMENT', 50)],
        promql_expr_test: [
          { expr: `round(modelfleet:task_calibration:ratio_rate1h{model="${BASELINE}",task="PLIKE"} * 100)`, eval_time: '70m', exp_samples: [{ labels: `{model="${BASELINE}",model_type="${TYPE}",task="PLIKE"}`, value: 130 }] },
          { expr: `round(modelfleet:task_ne:ratio_rate1h{model="${EXPERIMENT}",task="PLIKE"} * 100)`, eval_time: '70m', exp_samples: [{ labels: `{model="${EXPERIMENT}",model_type="${TYPE}",task="PLIKE"}`, value: 80 }] },
          { expr: `modelfleet:model_stable:rate1h{model="${EXPERIMENT}"}`, eval_time: '70m', exp_samples: [{ labels: `modelfleet:model_stable:rate1h{app="ig",funnel_stage="late_stage_ranking",model="${EXPERIMENT}",model_type="${TYPE}",surface="feed",team="feed-ranking"}`, value: 1 }] },
        ],
        alert_rule_test: [
          {
            alertname: 'ModelUnstable',
            eval_time: '70m',
            exp_alerts: [
              {
                // The type's app, surface and funnel stage ride along from the recorded verdict.
                exp_labels: { severity: 'page', tier: 'TIER2', team: 'feed-ranking', model_type: TYPE, model: BASELINE, role: 'baseline', oncall: 'feed-ranking-oncall', app: 'ig', surface: 'feed', funnel_stage: 'late_stage_ranking' },
                exp_annotations: annotations,
              },
            ],
          },
        ],
      },
    ],
  };
  return JSON.stringify(spec);
}

forEachDatabase((db) => {
  describe(`monitoring generated from the registry (${db.name})`, () => {
    let server: TestServer;
    let dir: string;

    before(async () => {
      server = await TestServer.start(db);
      dir = mkdtempSync(join(tmpdir(), 'modelfleet-monitoring-'));
      await seed(server, {
        teams: [sample.team()],
        modelTypes: [sample.modelType(TYPE)],
        models: [
          sample.model(BASELINE, { role: 'baseline', trafficShare: 0.9, thresholds: { PLIKE: band, PCOMMENT: band } }),
          // PCOMMENT has no thresholds: a coverage gap.
          sample.model(EXPERIMENT, { role: 'experiment', trafficShare: 0.1, thresholds: { PLIKE: band } }),
        ],
      });
    });
    after(async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    });

    test('the API lists the files with hashes and serves each with its content type and ETag; viewers may read', async () => {
      const viewer = await server.token('monitoring-viewer', 'viewer');
      const listing = await server.call('GET', '/monitoring/files', { token: viewer });
      assert.equal(listing.status, 200, JSON.stringify(listing.body));
      const paths = listing.body.files.map((f: { path: string }) => f.path);
      assert.deepEqual(paths, ['prometheus/rules.yml', 'alertmanager/alertmanager.yml', 'grafana/fleet-overview.json', 'grafana/surface-feed.json', `grafana/model-type-${TYPE}.json`]);
      assert.match(listing.body.hash, /^[0-9a-f]{64}$/);

      const rules = await fetch(`${server.url}/api/v1/monitoring/files/prometheus/rules.yml`, { headers: { authorization: `Bearer ${viewer}` } });
      assert.equal(rules.status, 200);
      assert.equal(rules.headers.get('content-type'), 'application/yaml; charset=utf-8');
      const etag = rules.headers.get('etag');
      assert.equal(etag, `"${listing.body.files[0].sha256}"`);
      const text = await rules.text();
      assert.ok(parse(text).groups.length === 1);
      const again = await fetch(`${server.url}/api/v1/monitoring/files/prometheus/rules.yml`, { headers: { authorization: `Bearer ${viewer}`, 'if-none-match': etag! } });
      assert.equal(again.status, 304);

      const dashboard = await fetch(`${server.url}/api/v1/monitoring/files/grafana/fleet-overview.json`, { headers: { authorization: `Bearer ${viewer}` } });
      assert.equal(dashboard.headers.get('content-type'), 'application/json; charset=utf-8');
      assert.equal(((await dashboard.json()) as { title: string }).title, 'modelfleet / fleet overview');

      const missing = await server.call('GET', '/monitoring/files/prometheus/nope.yml', { token: viewer });
      assert.equal(missing.status, 404);
      assert.match(missing.body.error.message, /the files are prometheus\/rules\.yml/);
      assert.equal((await server.call('GET', '/monitoring/files', { token: null })).status, 401);
    });

    test('coverage lists the model without thresholds and the CLI exits 1; thresholds fix it', async () => {
      const api = await server.call('GET', '/monitoring/coverage');
      assert.equal(api.status, 200);
      assert.deepEqual(
        api.body.gaps.map((g: { model: string; kind: string }) => [g.model, g.kind]),
        [[EXPERIMENT, 'thresholds']],
      );
      const failing = await runCli(server.url, ['monitoring', 'coverage']);
      assert.equal(failing.code, 1, showRun(failing));
      assert.match(failing.stdout, /1 of 2 live models fully covered/);
      assert.match(failing.stdout, new RegExp(`thresholds\\s+${EXPERIMENT}`));
      assert.match(failing.stdout, /no thresholds for PCOMMENT/);
      assert.match(failing.stderr, /placeholder URLs/);

      const current = await server.call('GET', `/models/${encodeURIComponent(EXPERIMENT)}`);
      const patched = await server.call('PATCH', `/models/${encodeURIComponent(EXPERIMENT)}`, {
        body: { thresholds: { PCOMMENT: band } },
        contentType: 'application/merge-patch+json',
        headers: { 'if-match': `"${current.body.version}"` },
      });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      const passing = await runCli(server.url, ['monitoring', 'coverage', '--json']);
      assert.equal(passing.code, 0, showRun(passing));
      const report = JSON.parse(passing.stdout);
      assert.deepEqual([report.models, report.covered, report.gaps], [2, 2, []]);
    });

    test('`monitoring generate` writes files promtool and amtool accept, and the rules judge the counters as the server does', async (t) => {
      const generated = await runCli(server.url, ['monitoring', 'generate', '--out', dir]);
      assert.equal(generated.code, 0, showRun(generated));
      assert.match(generated.stderr, /wrote {5}prometheus\/rules\.yml/);
      assert.match(generated.stdout, /5 written, 0 unchanged, 0 removed/);
      assert.deepEqual(readdirSync(join(dir, 'grafana')).sort(), ['fleet-overview.json', `model-type-${TYPE}.json`, 'surface-feed.json']);
      for (const file of readdirSync(join(dir, 'grafana'))) assert.equal(JSON.parse(readFileSync(join(dir, 'grafana', file), 'utf8')).schemaVersion, 39);
      const rulesFile = join(dir, 'prometheus', 'rules.yml');
      const rules = readFileSync(rulesFile, 'utf8');
      assert.match(rules, new RegExp(`alert: ModelUnstable\\n\\s+expr: modelfleet:model_stable:rate1h\\{model="${EXPERIMENT}"\\} == 0`));
      assert.match(rules, new RegExp(`modelfleet models end-experiment ${EXPERIMENT}`));

      await t.test('promtool check rules', { skip: missingTool(PROMTOOL, 'prometheus') }, () => {
        const check = run(PROMTOOL, ['check', 'rules', rulesFile]);
        assert.equal(check.code, 0, check.output);
        assert.match(check.output, /SUCCESS: \d+ rules found/);
      });
      await t.test('promtool test rules: calibration, NE and ModelUnstable from synthetic counters', { skip: missingTool(PROMTOOL, 'prometheus') }, () => {
        const spec = join(dir, 'rules.test.yml');
        writeFileSync(spec, ruleUnitTest(rulesFile));
        const check = run(PROMTOOL, ['test', 'rules', spec]);
        assert.equal(check.code, 0, check.output);
      });
      await t.test('amtool check-config', { skip: missingTool(AMTOOL, 'prometheus-alertmanager') }, () => {
        const check = run(AMTOOL, ['check-config', join(dir, 'alertmanager', 'alertmanager.yml')]);
        assert.equal(check.code, 0, check.output);
        assert.match(check.output, /SUCCESS/);
      });

      const unchanged = await runCli(server.url, ['monitoring', 'generate', '--out', dir]);
      assert.equal(unchanged.code, 0, showRun(unchanged));
      assert.match(unchanged.stdout, /0 written, 5 unchanged, 0 removed/);
    });

    test('ending the experiment removes its rules; retiring the whole type removes its dashboards', async () => {
      const before = (await server.call('GET', '/monitoring/files')).body.hash;
      const ended = await server.call('POST', `/models/${encodeURIComponent(EXPERIMENT)}/end-experiment`);
      assert.equal(ended.status, 200, JSON.stringify(ended.body));
      const listing = await server.call('GET', '/monitoring/files');
      assert.notEqual(listing.body.hash, before);
      const regenerated = await runCli(server.url, ['monitoring', 'generate', '--out', dir]);
      assert.equal(regenerated.code, 0, showRun(regenerated));
      const rules = readFileSync(join(dir, 'prometheus', 'rules.yml'), 'utf8');
      assert.ok(!rules.includes(EXPERIMENT), 'the retired experiment has no rules left');
      assert.ok(rules.includes(BASELINE));

      // Without thresholds the baseline is unmonitored: no rules, no type dashboard, and a coverage gap.
      const current = await server.call('GET', `/models/${encodeURIComponent(BASELINE)}`);
      const patched = await server.call('PATCH', `/models/${encodeURIComponent(BASELINE)}`, {
        body: { thresholds: null },
        contentType: 'application/merge-patch+json',
        headers: { 'if-match': `"${current.body.version}"` },
      });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      const last = await runCli(server.url, ['monitoring', 'generate', '--out', dir]);
      assert.equal(last.code, 0, showRun(last));
      assert.match(last.stderr, new RegExp(`removed {3}grafana/model-type-${TYPE}\\.json`));
      assert.ok(!existsSync(join(dir, 'grafana', `model-type-${TYPE}.json`)));
      assert.deepEqual(parse(readFileSync(join(dir, 'prometheus', 'rules.yml'), 'utf8')), { groups: [] });
      const coverage = await runCli(server.url, ['monitoring', 'coverage']);
      assert.equal(coverage.code, 1, showRun(coverage));
    });
  });
});
