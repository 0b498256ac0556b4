import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { budgetBurnAlert } from '../desiredAlerts.js';
import { alertsToRepeat, markNotified, reconcileAlerts } from '../lifecycle.js';
import { firingNotification, resolvedNotification, settings, storiesModel, storiesType } from '../testKit.js';
import { alertmanagerNotifier, postableAlert } from './alertmanagerNotifier.js';
import { type AlertmanagerNotifierConfig, NotifierConfigSchema, NotifierError } from './notifier.js';

/** The real Alertmanager: MODELFLEET_ALERTMANAGER_BIN, Debian's prometheus-alertmanager, or alertmanager on PATH. */
function findAlertmanager(): string | null {
  const candidates = [
    process.env.MODELFLEET_ALERTMANAGER_BIN,
    '/usr/bin/prometheus-alertmanager',
    ...(process.env.PATH ?? '').split(delimiter).flatMap((dir) => (dir ? [join(dir, 'alertmanager'), join(dir, 'prometheus-alertmanager')] : [])),
  ];
  return candidates.find((path): path is string => Boolean(path) && existsSync(path as string)) ?? null;
}

const binary = findAlertmanager();

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface Running {
  origin: string;
  process: ChildProcess;
  dir: string;
}

/** Starts Alertmanager on an ephemeral port with a null receiver, a temp store and clustering off. */
async function startAlertmanager(path: string): Promise<Running> {
  const dir = await mkdtemp(join(tmpdir(), 'modelfleet-alertmanager-'));
  const config = join(dir, 'alertmanager.yml');
  await writeFile(config, "route:\n  receiver: 'null'\nreceivers:\n  - name: 'null'\n");
  const port = await freePort();
  const child = spawn(
    path,
    [`--config.file=${config}`, `--storage.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address='],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  child.stdout?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const origin = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`Alertmanager exited with ${child.exitCode} before it was ready:\n${log}`);
    try {
      if ((await fetch(`${origin}/-/ready`)).ok) return { origin, process: child, dir };
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`Alertmanager was not ready within 20 s:\n${log}`);
}

interface GettableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  status: { state: string };
}

const activeAlerts = async (origin: string): Promise<GettableAlert[]> => {
  const response = await fetch(`${origin}/api/v2/alerts`);
  assert.equal(response.status, 200);
  return (await response.json()) as GettableAlert[];
};

describe('the Alertmanager notifier against a real Alertmanager', { skip: binary ? false : 'no Alertmanager binary here: install Debian\'s prometheus-alertmanager or set MODELFLEET_ALERTMANAGER_BIN (CI installs it)' }, () => {
  let am: Running | null = null;
  let config: AlertmanagerNotifierConfig;

  before(async () => {
    am = await startAlertmanager(binary as string);
    config = NotifierConfigSchema.parse({ kind: 'alertmanager', url: `${am.origin}/`, resendEveryMs: 60_000 }) as AlertmanagerNotifierConfig;
  });

  after(async () => {
    if (!am) return;
    const { process: child, dir } = am;
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('posts firing alerts that Alertmanager shows as active, with labels, annotations and lapse time', async () => {
    const now = new Date();
    const firing = firingNotification('experiment', new Date(now.getTime() - 10 * 60_000));
    const notifier = alertmanagerNotifier(config, () => now);
    await notifier.send([firing]);

    const shown = (await activeAlerts(am!.origin)).filter((a) => a.labels.model === 'ig_stories_tray_mtml:v42' && a.labels.alertname === 'ModelUnstable');
    assert.equal(shown.length, 1);
    const [alert] = shown;
    assert.equal(alert?.status.state, 'active');
    assert.deepEqual(alert?.labels, firing.alert.labels);
    assert.equal(Date.parse(alert?.startsAt ?? ''), Date.parse(firing.alert.startsAt));
    assert.equal(Date.parse(alert?.endsAt ?? ''), now.getTime() + 4 * 60_000);
    assert.equal(alert?.generatorURL, firing.alert.details.links.stability);
    assert.equal(alert?.annotations.summary, firing.alert.summary);
    assert.match(alert?.annotations.action ?? '', /^end the experiment: its traffic \(5%\) goes back to the baseline ig_stories_tray_mtml:v41/);
    assert.equal(alert?.annotations.action_cli, 'modelfleet models end-experiment ig_stories_tray_mtml:v42');
    assert.match(alert?.annotations.action_api ?? '', /^POST https:\/\/modelfleet\.example\.com\/api\/v1\/models\/ig_stories_tray_mtml%3Av42\/end-experiment$/);
    assert.equal(alert?.annotations.runbook_url, 'https://modelfleet.example.com/models/ig_stories_tray_mtml%3Av42');
    assert.match(alert?.annotations.description ?? '', /owner: team stories-ranking; on-call: stories-oncall \(24x7\)\nfinding: PLIKE calibration 1\.31 outside \[0\.9, 1\.1\]/);
  });

  it('re-sending a firing alert keeps one active alert and moves its lapse time', async () => {
    const start = new Date();
    const firing = firingNotification('experiment', new Date(start.getTime() - 10 * 60_000));
    const delivered = markNotified(firing.alert, start);
    const later = new Date(start.getTime() + 90_000);
    const repeats = alertsToRepeat([delivered], later, config.resendEveryMs);
    assert.equal(repeats.length, 1);
    await alertmanagerNotifier(config, () => later).send(repeats);
    const shown = (await activeAlerts(am!.origin)).filter((a) => a.labels.model === 'ig_stories_tray_mtml:v42' && a.labels.alertname === 'ModelUnstable');
    assert.equal(shown.length, 1);
    assert.equal(Date.parse(shown[0]?.endsAt ?? ''), later.getTime() + 4 * 60_000);
  });

  it('a resolved alert leaves the active list while the others stay', async () => {
    const now = new Date();
    const model = storiesModel('baseline');
    const burn = budgetBurnAlert({ window: '1h/5m', burnRate: 15, threshold: 14.4, objective: 0.99, severity: 'page', at: now }, model, storiesType, settings);
    const [burnFiring] = reconcileAlerts([], [burn], now).notifications;
    assert.ok(burnFiring);
    const unstable = firingNotification('experiment', new Date(now.getTime() - 10 * 60_000));
    const notifier = alertmanagerNotifier(config, () => now);
    await notifier.send([unstable, burnFiring]);
    assert.equal((await activeAlerts(am!.origin)).length, 2);

    const resolved = resolvedNotification(unstable, new Date());
    assert.equal(postableAlert(resolved, now, 60_000).endsAt, resolved.alert.endsAt);
    await notifier.send([resolved]);
    const left = await activeAlerts(am!.origin);
    assert.deepEqual(
      left.map((a) => [a.labels.alertname, a.labels.model, a.labels.burn_window, a.status.state]),
      [['StabilityBudgetBurn', 'ig_stories_tray_mtml:v41', '1h/5m', 'active']],
    );
  });

  it('an alert Alertmanager refuses fails with the notifier name and status 400', async () => {
    const firing = firingNotification('experiment', new Date());
    const bad = { ...firing, alert: { ...firing.alert, labels: { ...firing.alert.labels, 'not-a-label-name': 'x' } } };
    await assert.rejects(alertmanagerNotifier({ ...config, name: 'am-main' }).send([bad]), (error: unknown) => {
      assert.ok(error instanceof NotifierError);
      assert.deepEqual([error.notifier, error.status], ['am-main', 400]);
      assert.match(error.message, /^notifier 'am-main' got HTTP 400 from http:\/\/127\.0\.0\.1:\d+\/…: .+/);
      return true;
    });
  });
});
