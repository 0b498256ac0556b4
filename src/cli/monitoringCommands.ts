import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { Command } from 'commander';
import type { CoverageReport } from '../monitoring/coverage.js';
import { ApiClient, ApiError, resolveToken } from './client.js';
import { printJson, printTable } from './output.js';
import { clientOptions, withServerOptions } from './serverOptions.js';

type Options = Record<string, unknown>;

interface FileListing {
  seq: number;
  hash: string;
  files: Array<{ path: string; sha256: string; bytes: number; url: string }>;
}

/** Written beside the files: what the last run wrote, so files the registry no longer generates are removed, and nothing else ever is. */
export const MANIFEST_FILE = '.modelfleet-monitoring.json';

const err = (text: string) => process.stderr.write(`${text}\n`);
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** A path from the server, kept inside `out`: the server names the files, but never where outside the directory they go. */
function inside(out: string, path: string): string {
  const target = resolve(out, path);
  if (!target.startsWith(out + sep)) throw new Error(`the server named a file outside the output directory: '${path}'`);
  return target;
}

function previousFiles(out: string): string[] {
  try {
    const manifest = JSON.parse(readFileSync(join(out, MANIFEST_FILE), 'utf8')) as { files?: unknown };
    return Array.isArray(manifest.files) ? manifest.files.filter((f): f is string => typeof f === 'string') : [];
  } catch {
    return [];
  }
}

async function fetchText(client: ApiClient, token: string | undefined, url: string): Promise<{ text: string; etag: string | null }> {
  const response = await fetch(`${client.server}${url}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await response.text();
  if (!response.ok) throw new ApiError(response.status, String(response.status), `GET ${url}: ${text.slice(0, 500)}`, []);
  return { text, etag: response.headers.get('etag') };
}

/** `monitoring generate` and `monitoring coverage`. */
export function registerMonitoringCommands(program: Command): void {
  const group = program.command('monitoring').description('Prometheus rules, Alertmanager config and Grafana dashboards generated from the registry, and coverage');

  withServerOptions(
    group
      .command('generate')
      .requiredOption('--out <dir>', 'directory to write prometheus/, alertmanager/ and grafana/ into')
      .description("fetch the files generated from the live registry and write them (files the registry no longer generates are removed); see docs/monitoring.md"),
  ).action(async (options: Options) => {
    const client = new ApiClient(clientOptions(options));
    const token = resolveToken(options['token'] as string | undefined);
    const out = resolve(String(options['out']));
    const { body: listing } = await client.request<FileListing>('GET', '/monitoring/files');
    mkdirSync(out, { recursive: true });
    err(`registry at change ${listing.seq}: ${listing.files.length} files (bundle ${listing.hash.slice(0, 12)})`);
    let written = 0;
    let unchanged = 0;
    for (const file of listing.files) {
      const target = inside(out, file.path);
      const { text, etag } = await fetchText(client, token, file.url);
      const hash = sha256(text);
      if (etag && etag !== `"${hash}"`) throw new Error(`${file.path} arrived damaged: its sha256 ${hash} is not the server's ${etag}; run again`);
      let current: string | null = null;
      try {
        current = readFileSync(target, 'utf8');
      } catch {
        current = null;
      }
      if (current === text) {
        unchanged += 1;
        err(`  unchanged ${file.path}`);
        continue;
      }
      mkdirSync(dirname(target), { recursive: true });
      // Written aside and renamed, so a Prometheus reloading mid-write never reads half a file.
      writeFileSync(`${target}.tmp`, text);
      renameSync(`${target}.tmp`, target);
      written += 1;
      err(`  wrote     ${file.path} (${text.length} bytes, sha256 ${hash.slice(0, 12)})`);
    }
    const now = new Set(listing.files.map((f) => f.path));
    let removed = 0;
    for (const old of previousFiles(out)) {
      if (now.has(old)) continue;
      rmSync(inside(out, old), { force: true });
      removed += 1;
      err(`  removed   ${old} (no longer generated)`);
    }
    writeFileSync(join(out, MANIFEST_FILE), `${JSON.stringify({ seq: listing.seq, hash: listing.hash, files: [...now] }, null, 2)}\n`);
    process.stdout.write(`${written} written, ${unchanged} unchanged, ${removed} removed in ${relative(process.cwd(), out) || '.'} (registry change ${listing.seq})\n`);
  });

  withServerOptions(
    group
      .command('coverage')
      .option('--json', 'print JSON')
      .description('live models missing thresholds, alert routing or owner on-call, with what to fix; exits 1 when any is missing'),
  ).action(async (options: Options) => {
    const { body } = await new ApiClient(clientOptions(options)).request<CoverageReport>('GET', '/monitoring/coverage');
    if (body.gaps.length) process.exitCode = 1;
    if (options['json']) return printJson(body);
    for (const note of body.notes) err(`note: ${note}`);
    const gapModels = body.models - body.covered;
    process.stdout.write(`${body.covered} of ${body.models} live models fully covered; ${body.gaps.length} gap${body.gaps.length === 1 ? '' : 's'} on ${gapModels} model${gapModels === 1 ? '' : 's'}\n`);
    if (!body.gaps.length) return;
    printTable(
      body.gaps.map((g) => ({ ...g, problem: g.message })),
      ['kind', 'model', 'tier', 'role', 'team', 'problem'],
    );
    process.stdout.write('\nto fix:\n');
    for (const g of body.gaps) process.stdout.write(`  ${g.model} (${g.kind}): ${g.fix}\n`);
  });
}
