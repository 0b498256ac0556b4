import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openDatabase } from '../src/store/database.js';
import { freePort, processAlive } from '../src/serving/replicaProcess.js';
import { dropPostgresSchema } from '../src/store/database.js';
import { ADMIN_TOKEN, POSTGRES_URL, sample } from './harness.js';

/**
 * A server killed with SIGKILL in the middle of a shift, then started again on the same database:
 * the launch resumes from its recorded step, the replicas the dead server started are adopted (not
 * leaked, not doubled), and the launch completes.
 */

const ROOT = new URL('../../', import.meta.url).pathname;
const TYPE = 'ig_feed_main_mtml';

interface Serve {
  child: ChildProcess;
  url: string;
  routerUrl: string;
  output: () => string;
}

async function serve(db: string, dataDir: string): Promise<Serve> {
  const [port, routerPort] = [await freePort('127.0.0.1'), await freePort('127.0.0.1')];
  const child = spawn(process.execPath, [join(ROOT, 'bin/modelfleet.js'), 'serve', '--db', db, '--port', String(port), '--router-port', String(routerPort), '--data-dir', dataDir], {
    env: { ...process.env, MODELFLEET_ADMIN_TOKEN: ADMIN_TOKEN, MODELFLEET_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-8000)));
  child.stderr!.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-8000)));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`serve exited with ${child.exitCode}: ${output}`);
    try {
      if ((await fetch(`${url}/api/v1/whoami`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).ok && (await fetch(`http://127.0.0.1:${routerPort}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (i > 300) throw new Error(`serve did not start: ${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { child, url, routerUrl: `http://127.0.0.1:${routerPort}`, output: () => output };
}

async function call(s: Serve, method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${s.url}/api/v1${path}`, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
  const text = await response.text();
  if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** Keeps a trickle of requests going through the router, so the gates have traffic to judge. */
function trickle(routerUrl: () => string) {
  let running = true;
  let n = 0;
  const done = (async () => {
    while (running) {
      try {
        await (await fetch(`${routerUrl()}/rank/${TYPE}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: { id: `u${n++}` }, candidates: [{ id: 'c1' }] }) })).arrayBuffer();
      } catch {
        // the server is down between the kill and the restart
      }
      await new Promise((resolve) => setTimeout(resolve, 15));
    }
  })();
  return async () => {
    running = false;
    await done;
  };
}

const databases = [{ name: 'sqlite' as const }, ...(POSTGRES_URL ? [{ name: 'postgres' as const }] : [])];
for (const { name } of databases) {
  describe(`a launch survives its server being killed mid-shift (${name})`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'modelfleet-crash-'));
    const db = name === 'sqlite' ? `sqlite:${join(dir, 'modelfleet.db')}` : `${POSTGRES_URL}${POSTGRES_URL!.includes('?') ? '&' : '?'}schema=mf_crash_${process.pid}`;
    const servers: Serve[] = [];
    after(async () => {
      for (const s of servers) if (s.child.exitCode === null) s.child.kill('SIGKILL');
      // Whatever the test leaves, no replica outlives it.
      const handle = await openDatabase(db);
      for (const row of await handle.db.selectFrom('replicas').select('pid').execute()) if (row.pid) process.kill(row.pid, 'SIGKILL');
      await handle.close();
      if (name === 'postgres') await dropPostgresSchema(db);
      rmSync(dir, { recursive: true, force: true });
    });

    it('resumes from the recorded step with the same replicas, and completes', async () => {
      let s = await serve(db, dir);
      servers.push(s);
      await call(s, 'POST', '/teams', sample.team());
      await call(s, 'POST', '/model-types', sample.modelType(TYPE, 'feed-ranking', { serving: { p99Ms: 1000, bakeSeconds: 3, minReplicas: 1, errorRateMargin: 0.01 } }));
      await call(s, 'POST', '/models', sample.model(`${TYPE}:v1`, { role: 'baseline', trafficShare: 1, capacity: { maxQpsPerReplica: 100, replicas: 1, unitCost: 1 } }));
      await call(s, 'POST', '/models', sample.model(`${TYPE}:v2`, { role: 'candidate', trafficShare: 0, capacity: { maxQpsPerReplica: 100, replicas: 0, unitCost: 1 } }));
      const stop = trickle(() => s.routerUrl);
      const launch = await call(s, 'POST', '/launches', { modelType: TYPE, candidate: `${TYPE}:v2`, executor: 'local', stepShare: 0.5, peakQps: 60 });
      // Wait for the first step's bake: traffic has moved, the old model has not scaled down yet.
      let current: any;
      for (let i = 0; ; i++) {
        current = await call(s, 'GET', `/launches/${launch.id}`);
        if (current.phase === 'shifting' && current.step === 0 && current.stage === 'bake') break;
        if (i > 600 || ['failed', 'rolled_back', 'completed'].includes(current.phase)) throw new Error(`launch did not reach the first bake: ${JSON.stringify(current)}\n${s.output()}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const handle = await openDatabase(db);
      const before = await handle.db.selectFrom('replicas').select(['model_id', 'pid']).orderBy('model_id').execute();
      s.child.kill('SIGKILL');
      await new Promise((resolve) => s.child.once('exit', resolve));
      for (const r of before) assert.ok(await processAlive(r.pid!), `replica ${r.model_id} (pid ${r.pid}) keeps running without its server`);

      s = await serve(db, dir);
      servers.push(s);
      for (let i = 0; ; i++) {
        current = await call(s, 'GET', `/launches/${launch.id}`);
        if (['completed', 'failed', 'rolled_back'].includes(current.phase)) break;
        if (i > 900) throw new Error(`launch did not finish after the restart: ${JSON.stringify(current)}\n${s.output()}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await stop();
      assert.equal(current.phase, 'completed', current.outcome);
      const after = await handle.db.selectFrom('replicas').select(['model_id', 'pid']).execute();
      await handle.close();
      assert.deepEqual(after.map((r) => r.model_id), [`${TYPE}:v2`]);
      // The candidate's replica from before the kill was adopted, not replaced by a second one.
      assert.equal(after[0]!.pid, before.find((r) => r.model_id === `${TYPE}:v2`)!.pid);
      const old = before.find((r) => r.model_id === `${TYPE}:v1`)!;
      for (let i = 0; i < 50 && (await processAlive(old.pid!)); i++) await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(await processAlive(old.pid!), false, 'the retired model\'s process is gone');
      const events = (await call(s, 'GET', `/launches/${launch.id}/events`)).items.map((e: any) => e.reason);
      assert.equal(events.filter((r: string) => r.startsWith('step 1/2: ') && r.includes('takes 50%')).length, 1, 'the first step moved traffic once');
    });
  });
}
