import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';

/**
 * The operating-system side of a local replica: is its process alive, is a pid really a model
 * server of ours (pids are reused), signalling its process group, and a free port to give it.
 * Linux facts come from /proc; elsewhere a pid's identity can only be checked through /healthz.
 */

/** True while `pid` names a running process (a zombie, dead but not yet reaped, counts as dead). */
export async function processAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    // No /proc (not Linux), or it just exited.
    return processExistsWithoutProc(pid);
  }
}

function processExistsWithoutProc(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * True when `pid` runs `modelfleet model-server --model MODEL --port PORT`, read from its command
 * line: how a replica that does not answer /healthz (starting, or closing) is told from an unrelated
 * process that reused its pid. False when it cannot be known (no /proc).
 */
export async function isModelServerProcess(pid: number, modelId: string, port: number): Promise<boolean> {
  let args: string[];
  try {
    args = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
  } catch {
    return false;
  }
  const after = (flag: string) => {
    const at = args.lastIndexOf(flag);
    return at >= 0 ? args[at + 1] : undefined;
  };
  return args.includes('model-server') && after('--model') === modelId && after('--port') === String(port);
}

/**
 * Sends `signal` to the process group `pid` leads (replicas are spawned detached, each leading its
 * own group, so a multi-worker server's workers get it too), or to the process alone when it leads
 * none. False when the process is already gone.
 */
export function signalReplica(pid: number, signal: NodeJS.Signals): boolean {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, signal);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }
  return false;
}

/** Resolves once `pid` is gone, or with false after `timeoutMs`. */
export async function waitForExit(pid: number, timeoutMs: number, pollMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!(await processAlive(pid))) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/**
 * A port nothing listens on now, on `host`: bound, then released for the replica to take. Another
 * process may take it in between; the replica then fails to listen, exits, and is restarted on another.
 */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
