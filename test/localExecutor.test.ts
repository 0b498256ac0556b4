import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { LocalExecutor } from '../src/serving/localExecutor.js';
import { freePort, processAlive } from '../src/serving/replicaProcess.js';
import type { ReplicaRecord, ReplicaStore } from '../src/serving/replicaStore.js';
import { openDatabase, type DatabaseHandle } from '../src/store/database.js';
import { kyselyReplicaStore, readyEndpoints } from '../src/store/replicaRepository.js';
import { forEachDatabase } from './harness.js';

/**
 * The local executor with real `modelfleet model-server` processes on loopback ports: readiness,
 * scaling down, restarts after a crash, adoption by a restarted server, and removal. Every pid a
 * test sees is remembered and killed at the end, so a failing test leaves no process behind.
 */

const TYPE = 'ig_feed_main_mtml';
const V1 = `${TYPE}:v1`;
const V2 = `${TYPE}:v2`;
const V3 = `${TYPE}:v3`;
const FAILING = `${TYPE}:failing`;

const predictBody = JSON.stringify({ user: { id: 'u1', features: { country: 'us' } }, candidates: [{ id: 'c1', features: { media: 'video' } }] });

async function predict(endpoint: string): Promise<{ status: number; body: any }> {
  const response = await fetch(`${endpoint}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: predictBody });
  return { status: response.status, body: await response.json() };
}

/** Polls until `check` holds; the deadline only bounds a broken run, it measures nothing. */
async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

forEachDatabase((db) => {
  describe(`local executor (${db.name})`, () => {
    const url = db.freshUrl();
    let handle: DatabaseHandle;
    let store: ReplicaStore;
    let logsDir: string;
    const executors: LocalExecutor[] = [];
    const seenPids = new Set<number>();

    const rows = async (modelId?: string): Promise<ReplicaRecord[]> => {
      const all = await store.list('local');
      for (const row of all) if (row.pid !== null) seenPids.add(row.pid);
      return all.filter((r) => !modelId || r.modelId === modelId).sort((a, b) => (a.doc['slot'] as number) - (b.doc['slot'] as number));
    };
    const executor = (options: { argsFor?: (modelId: string) => string[] } = {}) => {
      const created = new LocalExecutor({ store, logsDir, healthPollMs: 100, stopGraceMs: 5000, startTimeoutMs: 30_000, logger: pino({ level: 'silent' }), ...options });
      executors.push(created);
      return created;
    };
    const readyCount = (executor: LocalExecutor, modelId: string, n: number) => waitFor(`${n} replica(s) of ${modelId} are ready`, async () => (await rows(), executor.endpoints(modelId).length === n));

    before(async () => {
      handle = await openDatabase(url);
      store = kyselyReplicaStore(handle.db);
      logsDir = await mkdtemp(join(tmpdir(), 'modelfleet-replicas-'));
    });
    after(async () => {
      for (const created of executors) await created.close({ keepReplicas: true }).catch(() => {});
      await rows().catch(() => []);
      for (const pid of seenPids) {
        // Only our model servers: a pid seen here may have been reused since.
        let cmdline = '';
        try {
          cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        } catch {
          continue;
        }
        if (cmdline.includes('model-server')) {
          try {
            process.kill(-pid, 'SIGKILL');
          } catch {
            /* already gone */
          }
        }
      }
      await handle.close();
      await db.cleanup(url);
      await rm(logsDir, { recursive: true, force: true });
    });

    let first: LocalExecutor;

    it('starts 2 replicas that become ready on distinct endpoints and answer /predict', async () => {
      first = executor();
      const asked = await first.apply({ modelId: V1, modelType: TYPE, replicas: 2 });
      assert.equal(asked.desired, 2);
      // The slots are recorded as soon as apply returns, before any process is relied on.
      const recorded = await rows(V1);
      assert.equal(recorded.length, 2);
      for (const row of recorded) assert.ok(row.endpoint?.startsWith('http://127.0.0.1:') && row.pid !== null, JSON.stringify(row));

      await readyCount(first, V1, 2);
      const endpoints = first.endpoints(V1);
      assert.equal(new Set(endpoints).size, 2);
      for (const endpoint of endpoints) {
        const answer = await predict(endpoint);
        assert.equal(answer.status, 200);
        assert.equal(answer.body.model, V1);
      }
      const status = await first.status(V1);
      assert.deepEqual(status, { modelId: V1, modelType: TYPE, desired: 2, ready: 2, endpoints });
      assert.deepEqual(await first.list(), [status]);
      await waitFor('the rows say ready', async () => (await rows(V1)).every((r) => r.state === 'ready'));
      // A router in another process reads the same endpoints from the database.
      assert.deepEqual((await readyEndpoints(handle.db)).map((e) => e.endpoint).sort(), [...endpoints].sort());
      // Each replica's output goes to its own log file.
      const log = await readFile(join(logsDir, `${recorded[0]!.id}.log`), 'utf8');
      assert.match(log, new RegExp(`model-server ${V1} listening on ${recorded[0]!.endpoint}`));
    });

    it('is idempotent: asking for the same count again changes nothing', async () => {
      const before = await rows(V1);
      const again = await first.apply({ modelId: V1, modelType: TYPE, replicas: 2 });
      assert.equal(again.desired, 2);
      assert.deepEqual((await rows(V1)).map((r) => [r.id, r.pid]), before.map((r) => [r.id, r.pid]));
    });

    it('scales 2 -> 1: the newest replica leaves the endpoints at once, then its process stops and its slot is deleted', async () => {
      const [oldest, newest] = await rows(V1);
      assert.ok(oldest && newest);
      const status = await first.apply({ modelId: V1, modelType: TYPE, replicas: 1 });
      assert.equal(status.desired, 1);
      assert.deepEqual(first.endpoints(V1), [oldest.endpoint]);
      assert.deepEqual(status.endpoints, [oldest.endpoint]);
      await waitFor('the newest replica process is gone', async () => !(await processAlive(newest.pid!)));
      await waitFor('its slot is deleted', async () => (await rows(V1)).length === 1);
      assert.equal((await rows(V1))[0]!.id, oldest.id);
      assert.equal((await predict(oldest.endpoint!)).status, 200);
    });

    it('restarts a replica whose process was killed with SIGKILL, on a new port', async () => {
      const [victim] = await rows(V1);
      assert.ok(victim?.pid);
      process.kill(victim.pid, 'SIGKILL');
      await waitFor('the slot runs a new ready process', async () => {
        const [now] = await rows(V1);
        return !!now && now.pid !== victim.pid && now.state === 'ready' && first.endpoints(V1).length === 1;
      });
      const [restarted] = await rows(V1);
      assert.equal(restarted!.id, victim.id, 'the same slot');
      assert.equal(restarted!.doc['restarts'], 1);
      assert.notEqual(restarted!.endpoint, victim.endpoint);
      assert.deepEqual(first.endpoints(V1), [restarted!.endpoint]);
      assert.equal((await predict(restarted!.endpoint!)).status, 200);
      assert.equal(await processAlive(victim.pid), false);
    });

    it('passes extra flags per model: a replica started with --error-rate 1 is ready but fails every prediction', async () => {
      const faulty = executor({ argsFor: (id) => (id === FAILING ? ['--error-rate', '1'] : []) });
      await faulty.apply({ modelId: FAILING, modelType: TYPE, replicas: 1 });
      await readyCount(faulty, FAILING, 1);
      const answer = await predict(faulty.endpoints(FAILING)[0]!);
      assert.equal(answer.status, 500);
      assert.match(answer.body.error.message, /injected failure/);
      await faulty.remove(FAILING);
      await faulty.close();
    });

    it('a restarted server adopts the replicas left running (same pids), restarts the dead one, and never signals a pid that is not its own', async () => {
      await first.apply({ modelId: V2, modelType: TYPE, replicas: 2 });
      await readyCount(first, V2, 2);
      const v1Before = await rows(V1);
      const v2Before = await rows(V2);
      await first.close({ keepReplicas: true });
      for (const row of [...v1Before, ...v2Before]) assert.equal(await processAlive(row.pid!), true, `replica ${row.id} kept running`);

      // While no server runs, one replica dies, and a slot points at a pid that now belongs to another process (this test's).
      const dead = v2Before[1]!;
      process.kill(dead.pid!, 'SIGKILL');
      await waitFor('the killed replica is gone', async () => !(await processAlive(dead.pid!)));
      const strangerPort = await freePort('127.0.0.1');
      await store.insert({ executor: 'local', id: 'stranger-slot', modelId: V3, modelType: TYPE, endpoint: `http://127.0.0.1:${strangerPort}`, pid: process.pid, state: 'ready', doc: { slot: 1 } });

      const second = executor();
      await second.recover();
      assert.equal((await second.status(V1))?.desired, 1);
      assert.equal((await second.status(V2))?.desired, 2);
      assert.equal((await second.status(V3))?.desired, 1);
      await readyCount(second, V1, 1);
      await readyCount(second, V2, 2);
      await readyCount(second, V3, 1);
      // Adopted: the same processes on the same endpoints.
      assert.deepEqual(second.endpoints(V1), v1Before.map((r) => r.endpoint));
      assert.ok(second.endpoints(V2).includes(v2Before[0]!.endpoint!));

      const v1After = await rows(V1);
      const v2After = await rows(V2);
      const v3After = await rows(V3);
      assert.deepEqual(v1After.map((r) => r.pid), v1Before.map((r) => r.pid), 'v1 adopted with the same pids');
      assert.equal(v2After[0]!.pid, v2Before[0]!.pid, 'the living v2 replica adopted');
      assert.equal(v2After[1]!.id, dead.id);
      assert.notEqual(v2After[1]!.pid, dead.pid, 'the dead v2 replica restarted');
      assert.equal(v3After[0]!.id, 'stranger-slot');
      assert.notEqual(v3After[0]!.pid, process.pid, 'the slot got its own process; this process was never signalled (it is still running this test)');
      for (const endpoint of [...second.endpoints(V2), ...second.endpoints(V3)]) assert.equal((await predict(endpoint)).status, 200);
    });

    it('finishes a stop a previous server left half done: the process is stopped and the slot deleted', async () => {
      const second = executors.at(-1)!;
      await second.close({ keepReplicas: true });
      const [leaving] = await rows(V3);
      assert.ok(leaving?.pid);
      await store.update('local', leaving.id, { state: 'stopping' });
      const third = executor();
      await third.recover();
      assert.equal(await third.status(V3), null);
      assert.equal(await processAlive(leaving.pid), false);
      assert.deepEqual(await rows(V3), []);
      assert.equal((await third.status(V1))?.desired, 1);
      assert.equal((await third.status(V2))?.desired, 2);
    });

    it('remove stops every replica of a model and deletes its slots; close stops the rest', async () => {
      const third = executors.at(-1)!;
      const v1 = await rows(V1);
      await third.remove(V1);
      await third.remove(V1);
      assert.equal(await third.status(V1), null);
      assert.deepEqual(third.endpoints(V1), []);
      assert.deepEqual(await rows(V1), []);
      for (const row of v1) assert.equal(await processAlive(row.pid!), false);

      await readyCount(third, V2, 2);
      const v2 = await rows(V2);
      await third.close();
      for (const row of v2) assert.equal(await processAlive(row.pid!), false);
      assert.deepEqual(await rows(), []);
      assert.deepEqual(await readyEndpoints(handle.db), []);
      await assert.rejects(third.apply({ modelId: V1, modelType: TYPE, replicas: 1 }), /closed/);
      // Logs stay for whoever investigates.
      assert.ok(existsSync(join(logsDir, `${v2[0]!.id}.log`)));
    });

    it('refuses a replica count that is not a whole number', async () => {
      const fresh = executor();
      await assert.rejects(fresh.apply({ modelId: V1, modelType: TYPE, replicas: 1.5 }), /whole number from 0 to 64/);
      await assert.rejects(fresh.apply({ modelId: V1, modelType: TYPE, replicas: -1 }), /whole number/);
      assert.deepEqual(await rows(), []);
      await fresh.close();
    });
  });
});
