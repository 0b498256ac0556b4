import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO_ROOT } from './cliRunner.js';

/**
 * `modelfleet demo`, what `npm start` runs, as a newcomer meets it: a process on a fresh SQLite file
 * that within a minute serves the console and a living fleet of 1000+ models, with labeled
 * predictions flowing, incidents alerting and launches moving on the simulated executor.
 */
describe('the demo (npm start)', () => {
  let child: ChildProcess;
  let dir = '';
  let url = '';
  let token = '';
  let stdout = '';
  let stderr = '';

  const get = async <T = any>(path: string): Promise<T> => {
    const response = await fetch(`${url}/api/v1${path}`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(response.status, 200, `${path}: ${response.status}`);
    return (await response.json()) as T;
  };
  /** Polls until `check` returns a value; the demo's clock is the real one. */
  const eventually = async <T>(what: string, check: () => Promise<T | null | undefined | false>, timeoutMs = 90_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await check();
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`the demo did not show ${what} within ${timeoutMs / 1000} s\n--- stdout\n${stdout}\n--- stderr\n${stderr.slice(-3000)}`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'modelfleet-demo-'));
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env['NODE_TEST_CONTEXT'];
    delete env['MODELFLEET_ADMIN_TOKEN'];
    child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'modelfleet.js'), 'demo', '--db', `sqlite:${join(dir, 'demo.db')}`, '--port', '0', '--models', '1000', '--traffic-models', '30'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    await eventually('its address and admin token', async () => /Ctrl-C stops it/.test(stdout), 120_000);
    url = /is serving (http:\/\/\S+)/.exec(stdout)![1]!;
    token = /admin token: (\S+)/.exec(stdout)![1]!;
  });
  after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints where the console is and how to sign in', () => {
    assert.match(stdout, /console: open http:\/\/127\.0\.0\.1:\d+ and sign in with the admin token/);
    assert.match(stdout, /launches on the simulated fleet: .+\(/);
  });

  it('serves the console at its address', async () => {
    const response = await fetch(url);
    assert.equal(response.status, 200);
    assert.match(await response.text(), /<div id="app">/);
  });

  it('holds a fleet of at least 1000 models', async () => {
    let count = 0;
    let cursor: string | null = null;
    do {
      const page: { items: unknown[]; nextCursor: string | null } = await get(`/models?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      count += page.items.length;
      cursor = page.nextCursor;
    } while (cursor);
    assert.ok(count >= 1000, `${count} models`);
  });

  it('has labeled predictions flowing and the injected incidents firing as alerts', async () => {
    const fleet = await eventually('a stability evaluation', async () => {
      const f = await get<{ models: { monitored: number; stable: number; unstable: number } }>('/stability');
      return f.models.stable > 0 ? f : null;
    });
    assert.ok(fleet.models.unstable >= 1, JSON.stringify(fleet.models));
    const alerts = await eventually('a firing alert', async () => {
      const a = await get<{ items: Array<{ modelId: string }> }>('/alerts?state=firing');
      return a.items.length ? a.items : null;
    });
    const injected = [...stdout.matchAll(/^ {7}(\S+:\S+) \(TIER\d (?:experiment|baseline)\)/gm)].map((m) => m[1]);
    assert.equal(injected.length, 2, stdout);
    assert.ok(alerts.some((a) => injected.includes(a.modelId)), `alerts for ${alerts.map((a) => a.modelId)}; injected ${injected}`);
  });

  it('runs launches on the simulated executor: one moving traffic, one waiting for approval, and the served candidate measured for real', async () => {
    const shifting = await eventually('a launch shifting traffic', async () => {
      const { items } = await get<{ items: Array<{ phase: string; executor: string; step: number }> }>('/launches');
      return items.find((l) => l.executor === 'simulated' && l.phase === 'shifting' && l.step >= 1) ?? null;
    });
    assert.ok(shifting);
    const { items } = await get<{ items: Array<{ phase: string }> }>('/launches');
    assert.ok(items.some((l) => l.phase === 'awaiting_approval'), items.map((l) => l.phase).join(', '));
    const served = /capacity: (\S+) is served for real/.exec(stdout)![1]!;
    const estimates = await get<{ items: Array<{ status: string }> }>(`/models/${encodeURIComponent(served)}/capacity/estimates`);
    assert.equal(estimates.items.length, 1, 'the demo measures the served candidate once');
  });

  it('stops cleanly on SIGINT', async () => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    assert.equal(await exited, 0, stderr.slice(-2000));
  });
});
