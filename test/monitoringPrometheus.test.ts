import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { mulberry32 } from '../src/sim/random.js';
import { Accumulator } from '../src/stability/accumulator.js';
import { metricsOf } from '../src/stability/metrics.js';
import { ADMIN_TOKEN, sample, seed, testDatabases, TestServer } from './harness.js';
import { ALERTMANAGER_BIN, AMTOOL_BIN, eventually, PROMETHEUS_BIN, PROMTOOL_BIN, promQuery, startAlertmanager, startPrometheus, startWebhookReceiver, type RunningBinary } from './promStack.js';

/**
 * The generated monitoring against the real tools: a real Prometheus scrapes a modelfleet server
 * every second with the rules generated from its registry, a real Alertmanager routes what fires to
 * a webhook per receiver. Calibration and NE computed by Prometheus from the server's counters must
 * equal modelfleet's own on the same events; a miscalibrated model must page on its tier's route.
 * Two changes to the generated files, and only these, keep the test short: rule groups are evaluated
 * every second instead of every minute, and `for:` is a few seconds instead of minutes.
 */

const TYPE = 'ig_feed_main_mtml';
const MODEL = `${TYPE}:v1`;
const EXPERIMENT = `${TYPE}:v2`;
const TASKS = ['PLIKE', 'PCOMMENT'] as const;
const thresholds = Object.fromEntries(TASKS.map((t) => [t, { calibration: { min: 0.8, max: 1.2 }, neMax: 1.5, minPositives: 10 }]));
const missing = [!PROMETHEUS_BIN && 'prometheus', !PROMTOOL_BIN && 'promtool', !ALERTMANAGER_BIN && 'prometheus-alertmanager', !AMTOOL_BIN && 'amtool'].filter(Boolean);

interface Event {
  model: string;
  task: string;
  p: number;
  y: number;
  ts: number;
}

/** Events of one model with predictions scaled by `scale` (1: calibrated), labels drawn from the true rate. */
function events(n: number, seedValue: number, scale: number): Event[] {
  const next = mulberry32(seedValue);
  const ts = Date.now() - 5_000;
  const out: Event[] = [];
  for (let i = 0; i < n; i++) {
    for (const task of TASKS) {
      const p = 0.05 + next() * 0.4;
      out.push({ model: MODEL, task, p: Math.min(0.99, p * scale), y: next() < p ? 1 : 0, ts });
    }
  }
  return out;
}

function run(binary: string, args: string[]): { code: number | null; output: string } {
  const result = spawnSync(binary, args, { encoding: 'utf8' });
  return { code: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('generated monitoring in a real Prometheus and Alertmanager', { skip: missing.length ? `not installed here: ${missing.join(', ')} (Debian's prometheus and prometheus-alertmanager; CI installs them)` : false }, () => {
  let server: TestServer;
  let prometheus: RunningBinary;
  let alertmanager: RunningBinary;
  let hook: Awaited<ReturnType<typeof startWebhookReceiver>>;
  const ours = new Map<string, Accumulator>(TASKS.map((t) => [t, new Accumulator()]));

  const file = async (path: string) => {
    const response = await fetch(`${server.url}/api/v1/monitoring/files/${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const text = await response.text();
    assert.equal(response.status, 200, `${path}: ${text}`);
    return text;
  };
  const shortenRules = (text: string) => {
    const doc = parse(text) as { groups: Array<{ interval?: string; rules: Array<{ alert?: string; for?: string }> }> };
    for (const group of doc.groups) {
      group.interval = '1s';
      for (const rule of group.rules) if (rule.alert && rule.for) rule.for = '3s';
    }
    return stringify(doc, { lineWidth: 0 });
  };
  const ingest = async (list: Event[]) => {
    for (const e of list) ours.get(e.task)!.add(e.p, e.y);
    const response = await server.call('POST', '/events', { raw: list.map((e) => JSON.stringify(e)).join('\n'), contentType: 'application/x-ndjson' });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.equal(response.body.accepted, list.length, JSON.stringify(response.body.errors?.slice(0, 3)));
  };
  const promValue = async (query: string) => {
    const result = await promQuery(prometheus, query);
    return result.length ? Number(result[0]!.value[1]) : undefined;
  };

  before(async () => {
    server = await TestServer.start(testDatabases[0]!);
    await seed(server, {
      teams: [sample.team()],
      modelTypes: [sample.modelType(TYPE, 'feed-ranking', { criticality: 'TIER3', stability: { windowMinutes: 5 } })],
      models: [sample.model(MODEL, { role: 'baseline', trafficShare: 0.9, thresholds }), sample.model(EXPERIMENT, { role: 'experiment', trafficShare: 0.1, thresholds })],
    });
    hook = await startWebhookReceiver();
    const amConfig = parse(await file('alertmanager/alertmanager.yml')) as { route: Record<string, unknown> & { routes?: Array<Record<string, unknown>> }; receivers: Array<{ name: string; webhook_configs?: Array<{ url: string }> }> };
    for (const receiver of amConfig.receivers) for (const webhook of receiver.webhook_configs ?? []) webhook.url = `${hook.url}/${receiver.name}`;
    const quick = (route: Record<string, unknown> & { routes?: Array<Record<string, unknown>> }) => {
      if ('group_wait' in route || route === amConfig.route) route['group_wait'] = '1s';
      for (const child of route.routes ?? []) quick(child as typeof route);
    };
    quick(amConfig.route);
    alertmanager = await startAlertmanager(stringify(amConfig, { lineWidth: 0 }));
    const rules = shortenRules(await file('prometheus/rules.yml'));
    const target = server.url.replace('http://', '');
    prometheus = await startPrometheus(
      stringify({
        global: { scrape_interval: '1s', evaluation_interval: '1s' },
        rule_files: ['rules.yml'],
        alerting: { alertmanagers: [{ static_configs: [{ targets: [alertmanager.url.replace('http://', '')] }] }] },
        scrape_configs: [{ job_name: 'modelfleet', metrics_path: '/metrics', static_configs: [{ targets: [target] }] }],
      }),
      { 'rules.yml': rules },
    );
  });
  after(async () => {
    await prometheus?.stop();
    await alertmanager?.stop();
    await hook?.close();
    await server?.close();
  });

  it('promtool and amtool accept the generated files as served', async () => {
    const dir = prometheus.dir;
    writeFileSync(join(dir, 'served-rules.yml'), await file('prometheus/rules.yml'));
    writeFileSync(join(dir, 'served-alertmanager.yml'), await file('alertmanager/alertmanager.yml'));
    const rules = run(PROMTOOL_BIN!, ['check', 'rules', join(dir, 'served-rules.yml')]);
    assert.equal(rules.code, 0, rules.output);
    const am = run(AMTOOL_BIN!, ['check-config', join(dir, 'served-alertmanager.yml')]);
    assert.equal(am.code, 0, am.output);
  });

  it('calibration and NE computed by Prometheus equal modelfleet\'s own on the same events, within 1e-6', async () => {
    // The counters exist (at 0) before any event, so the window's increase holds every event.
    await eventually('the first scrape', () => promValue(`modelfleet_prediction_weight_total{model="${MODEL}",task="PLIKE"}`), 30_000);
    await ingest(events(3000, 1, 1));
    for (const task of TASKS) {
      const expected = metricsOf(ours.get(task)!);
      const calibration = await eventually(`${task} calibration in Prometheus`, () => promValue(`modelfleet:task_calibration:ratio_rate5m{model="${MODEL}",task="${task}"}`), 30_000);
      const ne = await eventually(`${task} NE in Prometheus`, () => promValue(`modelfleet:task_ne:ratio_rate5m{model="${MODEL}",task="${task}"}`), 30_000);
      assert.ok(Math.abs(calibration - expected.calibration!) <= 1e-6, `${task} calibration: Prometheus ${calibration}, modelfleet ${expected.calibration}`);
      assert.ok(Math.abs(ne - expected.ne!) <= 1e-6, `${task} NE: Prometheus ${ne}, modelfleet ${expected.ne}`);
    }
    assert.equal(await eventually('a stable verdict', () => promValue(`modelfleet:model_stable:rate5m{model="${MODEL}"}`), 30_000), 1);
  });

  it('a miscalibrated model fires ModelUnstable, and Alertmanager delivers it on its tier\'s route', async () => {
    await ingest(events(20_000, 2, 1.6));
    const expected = metricsOf(ours.get('PLIKE')!);
    await eventually('the new calibration', async () => {
      const calibration = await promValue(`modelfleet:task_calibration:ratio_rate5m{model="${MODEL}",task="PLIKE"}`);
      return calibration !== undefined && Math.abs(calibration - expected.calibration!) <= 1e-6;
    });
    assert.ok(expected.calibration! > 1.2, `the events are miscalibrated: ${expected.calibration}`);
    await eventually('ModelUnstable firing in Prometheus', () => promValue(`ALERTS{alertname="ModelUnstable",alertstate="firing",model="${MODEL}"}`), 60_000);
    const delivered = await eventually(
      'the alert at the webhook',
      async () => hook.received.find((r) => r.body?.alerts?.some((a: any) => a.labels.alertname === 'ModelUnstable' && a.labels.model === MODEL && a.status === 'firing')),
      60_000,
    );
    // TIER3 opens a ticket: it does not page.
    assert.equal(delivered.receiver, 'ticket', `delivered to ${delivered.receiver}`);
    const alert = delivered.body.alerts.find((a: any) => a.labels.model === MODEL);
    assert.equal(alert.labels.tier, 'TIER3');
    assert.equal(alert.labels.team, 'feed-ranking');
    assert.equal(alert.labels.role, 'baseline');
    assert.equal(alert.labels.model_type, TYPE);
    assert.ok(alert.annotations.action, 'the alert says what to do');
    assert.ok(!hook.received.some((r) => r.receiver === 'page'), 'nothing paged');
  });

  it('retiring a model removes its rules: regenerated, reloaded, gone from Prometheus', async () => {
    const ended = await server.call('POST', `/models/${encodeURIComponent(EXPERIMENT)}/end-experiment`, {});
    assert.equal(ended.status, 200, JSON.stringify(ended.body));
    const rules = await file('prometheus/rules.yml');
    assert.ok(!rules.includes(EXPERIMENT), 'the regenerated rules do not mention the retired model');
    assert.ok(rules.includes(MODEL));
    writeFileSync(join(prometheus.dir, 'rules.yml'), shortenRules(rules));
    assert.equal((await fetch(`${prometheus.url}/-/reload`, { method: 'POST' })).status, 200);
    await eventually('the reloaded rules', async () => {
      const body = (await (await fetch(`${prometheus.url}/api/v1/rules`)).json()) as { data: { groups: Array<{ rules: Array<{ labels?: Record<string, string>; query: string }> }> } };
      const all = body.data.groups.flatMap((g) => g.rules);
      return all.some((r) => r.labels?.model === MODEL) && !all.some((r) => r.labels?.model === EXPERIMENT || r.query.includes(EXPERIMENT));
    });
  });
});
