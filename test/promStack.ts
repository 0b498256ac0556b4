import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from '../src/serving/replicaProcess.js';

/**
 * The real Prometheus and Alertmanager for end-to-end tests: Debian's binaries (CI installs them),
 * each on a free loopback port with its own temporary storage, plus a webhook receiver that records
 * what Alertmanager delivers.
 */

function findBinary(names: string[], envVar: string): string | null {
  const candidates = [process.env[envVar], ...names.map((n) => `/usr/bin/${n}`), ...(process.env['PATH'] ?? '').split(delimiter).flatMap((dir) => (dir ? names.map((n) => join(dir, n)) : []))];
  return candidates.find((c): c is string => !!c && existsSync(c)) ?? null;
}

export const PROMETHEUS_BIN = findBinary(['prometheus'], 'MODELFLEET_PROMETHEUS_BIN');
export const PROMTOOL_BIN = findBinary(['promtool'], 'MODELFLEET_PROMTOOL_BIN');
export const ALERTMANAGER_BIN = findBinary(['prometheus-alertmanager', 'alertmanager'], 'MODELFLEET_ALERTMANAGER_BIN');
export const AMTOOL_BIN = findBinary(['amtool'], 'MODELFLEET_AMTOOL_BIN');

export interface RunningBinary {
  url: string;
  dir: string;
  output(): string;
  stop(): Promise<void>;
}

async function startBinary(binary: string, args: (port: number, dir: string) => string[], dir: string, ready: string): Promise<RunningBinary> {
  const port = await freePort('127.0.0.1');
  const child: ChildProcess = spawn(binary, args(port, dir), { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (c: Buffer) => (output = (output + c.toString('utf8')).slice(-20_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`${binary} exited with ${child.exitCode}:\n${output}`);
    try {
      if ((await fetch(`${url}${ready}`)).ok) break;
    } catch {
      // not listening yet
    }
    if (i > 300) {
      child.kill('SIGKILL');
      throw new Error(`${binary} did not become ready:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    dir,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((resolve) => child.once('exit', resolve));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Prometheus with `config` (YAML text) and rule files written beside it, its TSDB in a temp dir. */
export async function startPrometheus(config: string, files: Record<string, string> = {}): Promise<RunningBinary> {
  if (!PROMETHEUS_BIN) throw new Error('no prometheus binary');
  const dir = mkdtempSync(join(tmpdir(), 'modelfleet-prometheus-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  writeFileSync(join(dir, 'prometheus.yml'), config);
  return startBinary(
    PROMETHEUS_BIN,
    (port, d) => [`--config.file=${join(d, 'prometheus.yml')}`, `--storage.tsdb.path=${join(d, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--web.enable-lifecycle'],
    dir,
    '/-/ready',
  );
}

/** Alertmanager with `config` (YAML text), clustering off, its store in a temp dir. */
export async function startAlertmanager(config: string): Promise<RunningBinary> {
  if (!ALERTMANAGER_BIN) throw new Error('no alertmanager binary');
  const dir = mkdtempSync(join(tmpdir(), 'modelfleet-alertmanager-'));
  writeFileSync(join(dir, 'alertmanager.yml'), config);
  return startBinary(
    ALERTMANAGER_BIN,
    (port, d) => [`--config.file=${join(d, 'alertmanager.yml')}`, `--storage.path=${join(d, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address='],
    dir,
    '/-/ready',
  );
}

/** One Prometheus instant query; returns the result vector. */
export async function promQuery(prometheus: RunningBinary, query: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
  const response = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await response.json()) as { status: string; data?: { result: Array<{ metric: Record<string, string>; value: [number, string] }> }; error?: string };
  if (body.status !== 'success') throw new Error(`query ${query}: ${body.error ?? response.status}`);
  return body.data!.result;
}

/** A webhook receiver: every notification Alertmanager posts, with the receiver named in the path. */
export async function startWebhookReceiver(): Promise<{ url: string; received: Array<{ receiver: string; body: any }>; close(): Promise<void> }> {
  const received: Array<{ receiver: string; body: any }> = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        received.push({ receiver: (req.url ?? '/').slice(1), body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      } catch {
        received.push({ receiver: (req.url ?? '/').slice(1), body: null });
      }
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}`, received, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Polls `check` until it returns a value (not undefined/false) or the time is up. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined | false>, limitMs = 60_000, everyMs = 500): Promise<T> {
  const deadline = Date.now() + limitMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value as T;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${limitMs / 1000} s${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
