import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { NatsConnection } from '@nats-io/transport-node';
import { freePort } from '../src/serving/replicaProcess.js';
import { Resolution } from '../src/stability/stabilityStore.js';
import { openDatabase, type DatabaseHandle } from '../src/store/database.js';
import { kyselyStabilityStore } from '../src/store/stabilityRepository.js';
import { connectNats, ensureEventStream, type EventStreamSettings } from '../src/stream/eventStream.js';
import { testDatabases } from './harness.js';
import { backlogOf, deleteStream, FIXTURE_NOW, fixtureLines, fixtureModels, fixtureRequests, NATS_URL, publishAll, storedBuckets, streamMessagesOf, uniqueStreamSettings, waitFor, withNatsAndPostgres } from './streamWorkerKit.js';
import { PrivateNats } from './privateNats.js';

/**
 * `modelfleet worker` processes (the real CLI) under the faults a deployment meets: a worker killed
 * with SIGKILL, NATS restarted, PostgreSQL restarted. After each, every event is counted exactly once.
 */

const BIN = new URL('../../bin/modelfleet.js', import.meta.url).pathname;
/** The fixture cut this fine: about 1,200 small messages, so consuming them takes many transactions. */
const REQUESTS = 300;
/**
 * The fixture moved to the last hours: the leading worker's monitor applies retention, which would
 * delete buckets as old as the fixture's own timestamps while the test counts them.
 */
const SHIFT_MS = Math.floor((Date.now() - FIXTURE_NOW) / 3_600_000) * 3_600_000;
const messages = fixtureRequests(REQUESTS, SHIFT_MS).flatMap((text) => streamMessagesOf(text, FIXTURE_NOW + SHIFT_MS));
const EVENTS = fixtureLines.length;

interface Worker {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/**
 * Starts `modelfleet worker` and waits until it consumes; a short ack wait, so a killed worker's
 * messages come back within the test.
 */
async function startWorker(natsUrl: string, db: string, settings: EventStreamSettings, extraArgs: string[] = []): Promise<Worker> {
  const args = ['worker', '--nats', natsUrl, '--db', db, '--stream', settings.stream, '--subject-prefix', settings.subjectPrefix, '--consumer', settings.consumer, '--ack-wait-ms', '2000', '--batch', '10', '--flush-ms', '20', '--progress-ms', '1000', ...extraArgs];
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, MODELFLEET_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await waitFor('the worker to start consuming', async () => {
    if (child.exitCode !== null) assert.fail(`the worker exited with ${child.exitCode}: ${output}`);
    return output.includes('modelfleet worker consuming');
  });
  return { child, output: () => output, exited };
}

/** SIGTERM, and the exit code: a worker stopping cleanly writes and acknowledges what it fetched, then exits 0. */
async function stopWorker(worker: Worker): Promise<number | null> {
  if (worker.child.exitCode !== null || worker.child.signalCode !== null) return worker.child.exitCode;
  worker.child.kill('SIGTERM');
  return worker.exited;
}


const PG_BIN = '/usr/lib/postgresql/15/bin';

/** A private PostgreSQL cluster (initdb as the postgres user) on a free port, to restart without touching the shared one. */
class PrivatePostgres {
  readonly dir = mkdtempSync(join(tmpdir(), 'mf-pg-'));
  private constructor(readonly port: number) {}

  static available(): string | null {
    if (!existsSync(join(PG_BIN, 'initdb'))) return `${PG_BIN}/initdb is not installed`;
    if (process.getuid?.() !== 0) return 'initdb must run as the postgres user, which needs root to switch to';
    return null;
  }

  static async start(): Promise<PrivatePostgres> {
    const pgsql = new PrivatePostgres(await freePort('127.0.0.1'));
    chownSync(pgsql.dir, uidOf('postgres'), gidOf('postgres'));
    pgsql.asPostgres('initdb', ['-D', join(pgsql.dir, 'data'), '-U', 'postgres', '--auth=trust', '-E', 'UTF8']);
    pgsql.pgCtl('start');
    return pgsql;
  }

  url(schema: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres?schema=${schema}`;
  }

  pgCtl(action: 'start' | 'restart' | 'stop'): void {
    const options = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
    this.asPostgres('pg_ctl', ['-D', join(this.dir, 'data'), '-l', join(this.dir, 'log'), '-w', '-m', 'fast', ...(action === 'stop' ? [] : ['-o', options]), action]);
  }

  close(): void {
    try {
      this.pgCtl('stop');
    } catch {
      // Not running.
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private asPostgres(command: string, args: string[]): void {
    execFileSync('runuser', ['-u', 'postgres', '--', join(PG_BIN, command), ...args], { stdio: 'pipe', cwd: this.dir });
  }
}

const uidOf = (user: string) => Number(execFileSync('id', ['-u', user]).toString().trim());
const gidOf = (user: string) => Number(execFileSync('id', ['-g', user]).toString().trim());

withNatsAndPostgres('stream worker processes under faults', () => {
  const postgres = testDatabases.find((d) => d.name === 'postgres')!;

  describe('stream worker processes under faults', () => {
    const cleanups: Array<() => Promise<unknown> | unknown> = [];
    after(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup();
    });

    /** A database with its tables (made before the workers start, so they do not race to make them). */
    async function database(url: string): Promise<DatabaseHandle> {
      const handle = await openDatabase(url);
      cleanups.push(() => handle.close());
      return handle;
    }

    async function stream(nc: NatsConnection): Promise<EventStreamSettings> {
      const settings = uniqueStreamSettings();
      await ensureEventStream(nc, settings);
      cleanups.push(() => deleteStream(nc, settings));
      return settings;
    }

    async function worker(natsUrl: string, db: string, settings: EventStreamSettings, extraArgs: string[] = []): Promise<Worker> {
      const w = await startWorker(natsUrl, db, settings, extraArgs);
      cleanups.push(() => {
        if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
      });
      return w;
    }

    /** Waits until the database holds every event and the stream is empty, then checks nothing more arrives. */
    async function assertCountedOnce(handle: DatabaseHandle, nc: NatsConnection, settings: EventStreamSettings, workers: Worker[], events = EVENTS): Promise<void> {
      const store = kyselyStabilityStore(handle);
      const count = async () => [...(await storedBuckets(store, fixtureModels, Resolution.minute)).values()].reduce((n, r) => n + r.sums.count, 0);
      const hourCount = async () => [...(await storedBuckets(store, fixtureModels, Resolution.hour)).values()].reduce((n, r) => n + r.sums.count, 0);
      const state = async () => `count ${await count()} of ${events}, backlog ${JSON.stringify(await backlogOf(nc, settings))}\n${workers.map((w) => w.output().slice(-3000)).join('\n---\n')}`;
      await waitFor('every event stored and acknowledged', async () => (await count()) >= events && (await backlogOf(nc, settings)).messages === 0, state, 45_000);
      for (const w of workers) assert.equal(await stopWorker(w), 0, `a worker stopped with SIGTERM exits 0: ${w.output().slice(-2000)}`);
      assert.equal(await count(), events, 'minute buckets: every event exactly once');
      assert.equal(await hourCount(), events, 'hour buckets: every event exactly once');
      const backlog = await backlogOf(nc, settings);
      assert.deepEqual(backlog, { pending: 0, ackPending: 0, messages: 0 });
    }

    /** The shared NATS, a fresh database and stream, and the fixture's messages published to it. */
    async function published(): Promise<{ nc: NatsConnection; url: string; handle: DatabaseHandle; settings: EventStreamSettings }> {
      const nc = await connectNats(NATS_URL!, 'modelfleet-test');
      cleanups.push(() => nc.close());
      const url = postgres.freshUrl();
      cleanups.push(() => postgres.cleanup(url));
      const handle = await database(url);
      const settings = await stream(nc);
      await publishAll(nc, settings, messages);
      return { nc, url, handle, settings };
    }

    it('counts every event once when a worker is killed with SIGKILL mid-stream and another starts', async () => {
      const { nc, url, handle, settings } = await published();
      const [doomed, survivor] = await Promise.all([worker(NATS_URL!, url, settings), worker(NATS_URL!, url, settings)]);
      const store = kyselyStabilityStore(handle);
      await waitFor('the workers to store their first batches', async () => [...(await storedBuckets(store, fixtureModels, Resolution.minute)).values()].some((r) => r.sums.count > 0), async () => doomed.output());
      doomed.child.kill('SIGKILL');
      assert.equal(await doomed.exited, null, 'killed, not exited');
      const successor = await worker(NATS_URL!, url, settings);
      await assertCountedOnce(handle, nc, settings, [survivor, successor]);
    });

    it('serves its progress as Prometheus metrics: messages by outcome, events, batches, lag, backlog', async () => {
      const { url, handle, settings } = await published();
      const observed = await worker(NATS_URL!, url, settings, ['--metrics-port', '0']);
      const metricsUrl = /"url":"(http:\/\/127\.0\.0\.1:\d+)","msg":"worker metrics"/.exec(observed.output())?.[1];
      assert.ok(metricsUrl, `the worker logs its metrics address: ${observed.output().slice(-2000)}`);
      const scrape = async () => (await fetch(`${metricsUrl}/metrics`)).text();
      const value = (text: string, series: string) => Number(new RegExp(`^${series.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
      await waitFor('the worker to report every message', async () => value(await scrape(), 'modelfleet_worker_messages_total{outcome="stored"}') === messages.length, scrape);
      const text = await scrape();
      assert.equal(value(text, 'modelfleet_worker_events_total'), EVENTS);
      assert.equal(value(text, 'modelfleet_worker_messages_total{outcome="duplicate"}'), 0);
      assert.ok(value(text, 'modelfleet_worker_batches_total') >= messages.length / 10, 'batches of at most --batch 10');
      assert.ok(value(text, 'modelfleet_worker_lag_seconds') >= 0);
      assert.equal(value(text, 'modelfleet_worker_failed_flushes_total'), 0);
      assert.equal(value(text, 'modelfleet_worker_backlog_messages'), 0, 'nothing left behind the last batch');
      assert.match(text, /^process_cpu_seconds_total /m);
      assert.equal((await fetch(`${metricsUrl}/healthz`)).status, 200);
      assert.equal((await fetch(`${metricsUrl}/nope`)).status, 404);
      assert.equal(await stopWorker(observed), 0);
      assert.equal(await handle.db.selectFrom('stability_buckets').select(handle.db.fn.sum<number>('count').as('n')).where('resolution', '=', Resolution.minute).executeTakeFirst().then((r) => Number(r?.n)), EVENTS);
    });

    it('counts every event once when NATS restarts while workers consume', async () => {
      const nats = await PrivateNats.start();
      cleanups.push(() => nats.close());
      const nc = await connectNats(nats.url, 'modelfleet-test');
      cleanups.push(() => nc.close());
      const url = postgres.freshUrl();
      cleanups.push(() => postgres.cleanup(url));
      const handle = await database(url);
      const store = kyselyStabilityStore(handle);
      const settings = await stream(nc);
      const half = Math.floor(messages.length / 2);
      const firstHalf = await publishAll(nc, settings, messages.slice(0, half));
      const workers = await Promise.all([worker(nats.url, url, settings), worker(nats.url, url, settings)]);
      await waitFor('the workers to store their first batches', async () => [...(await storedBuckets(store, fixtureModels, Resolution.minute)).values()].some((r) => r.sums.count > 0));
      // Stopped mid-stream: messages delivered and not yet acknowledged, acknowledgements in flight.
      await nats.stop();
      await nats.run();
      // Accepted after the restart too: the stream and the workers' consumer came back from disk.
      const secondHalf = await publishAll(nc, settings, messages.slice(half));
      assert.equal(firstHalf + secondHalf, EVENTS);
      await assertCountedOnce(handle, nc, settings, workers);
    });

    const unavailable = PrivatePostgres.available();
    it('counts every event once when PostgreSQL restarts while workers consume', { skip: unavailable ?? false }, async () => {
      const pgsql = await PrivatePostgres.start();
      cleanups.push(() => pgsql.close());
      const nc = await connectNats(NATS_URL!, 'modelfleet-test');
      cleanups.push(() => nc.close());
      const url = pgsql.url('mf_faults');
      const handle = await database(url);
      const store = kyselyStabilityStore(handle);
      const settings = await stream(nc);
      const half = Math.floor(messages.length / 2);
      await publishAll(nc, settings, messages.slice(0, half));
      const workers = await Promise.all([worker(NATS_URL!, url, settings), worker(NATS_URL!, url, settings)]);
      await waitFor('the workers to store their first batches', async () => [...(await storedBuckets(store, fixtureModels, Resolution.minute)).values()].some((r) => r.sums.count > 0));
      // Every connection (the workers' pools, their leader lock, this test's) is cut mid-stream; a
      // worker whose batch fails keeps it unacknowledged and retries until the database is back.
      pgsql.pgCtl('restart');
      await publishAll(nc, settings, messages.slice(half));
      await assertCountedOnce(handle, nc, settings, workers);
    });
  });
});
