import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

/** The CLI the package ships; the benchmark runs the real binary, not a copy of its wiring. */
export const CLI = fileURLToPath(new URL('../../../bin/modelfleet.js', import.meta.url));
/** The repository root, so child processes resolve the same dist/ and node_modules/. */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** A port that was free a moment ago: `serve` needs one named up front to be reachable. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

export interface ServerProcess {
  url: string;
  pid: number;
  /** User + system CPU seconds the server has used so far (Linux /proc; NaN elsewhere). */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
// A benchmark interrupted with Ctrl-C must not leave servers behind.
process.once('exit', () => {
  for (const child of live) child.kill('SIGTERM');
});

/** Runs `modelfleet serve` in its own process, so the load generator does not share its event loop. */
export async function startServerProcess(options: { db: string; adminToken: string; dataDir: string; extraArgs?: string[] }): Promise<ServerProcess> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    try {
      return await startOn(port, options);
    } catch (error) {
      lastError = error;
      if (!/EADDRINUSE|in use/.test(String((error as Error).message))) throw error;
    }
  }
  throw lastError;
}

async function startOn(port: number, options: { db: string; adminToken: string; dataDir: string; extraArgs?: string[] }): Promise<ServerProcess> {
  const child = spawn(process.execPath, [CLI, 'serve', '--db', options.db, '--port', String(port), '--data-dir', options.dataDir, ...(options.extraArgs ?? [])], {
    cwd: ROOT,
    env: { ...process.env, MODELFLEET_ADMIN_TOKEN: options.adminToken, MODELFLEET_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let exited: number | null | undefined;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', (code) => {
      exited = code;
      live.delete(child);
      resolve();
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (exited !== undefined) throw new Error(`modelfleet serve exited with ${exited} before it was ready:\n${output}`);
    try {
      const response = await fetch(`${url}/healthz`);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`modelfleet serve did not answer /healthz within 120 s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const pid = child.pid!;
  return {
    url,
    pid,
    cpuSeconds: () => processCpuSeconds(pid),
    async stop() {
      if (exited === undefined) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exit;
        clearTimeout(timer);
      }
    },
  };
}

/** utime + stime of a process from /proc/PID/stat, in seconds. */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields after the command: state is index 0, so utime (14th overall) is index 11 and stime index 12.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** CPU seconds the whole machine has spent busy (all cores, all processes) since boot, from /proc/stat; NaN elsewhere. */
export function machineBusySeconds(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number) as number[];
    return (user! + nice! + system! + irq! + softirq! + steal!) / 100;
  } catch {
    return NaN;
  }
}

/** Runs a command to completion; resolves with its wall time, exit code and output. */
export function runProcess(args: string[], env: Record<string, string> = {}): Promise<{ ms: number; code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout = (stdout + c.toString('utf8')).slice(-20_000)));
    child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString('utf8')).slice(-20_000)));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ ms: performance.now() - started, code, stdout, stderr }));
  });
}
