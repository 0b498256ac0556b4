import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADMIN_TOKEN } from './harness.js';

// Compiled to dist/test/, so the repository root is two levels up.
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(REPO_ROOT, 'bin', 'modelfleet.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real CLI binary as a child process against the server at `serverUrl` with the admin token,
 * asynchronously so an in-process test server keeps answering.
 */
export function runCli(serverUrl: string, args: string[], options: { cwd?: string; input?: string } = {}): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, MODELFLEET_SERVER: serverUrl, MODELFLEET_TOKEN: ADMIN_TOKEN };
  // The test runner marks its children; the CLI is not a test file.
  delete env['NODE_TEST_CONTEXT'];
  delete env['NO_COLOR'];
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { ...(options.cwd ? { cwd: options.cwd } : {}), env, stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
    if (options.input !== undefined) child.stdin!.end(options.input);
  });
}

/** A CLI run as a failure message shows it. */
export const showRun = (r: CliResult) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
