import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { ApiClient, definedOnly } from './client.js';
import type { Model } from '../registry/model.js';
import type { ModelType } from '../registry/modelType.js';
import { onCallBrief } from '../registry/onCallBrief.js';
import { printJson, printTable } from './output.js';
import { clientOptions, withServerOptions } from './serverOptions.js';

interface EntityCommandConfig {
  command: string;
  collection: string;
  noun: string;
  columns: string[];
  filters: Array<[flag: string, query: string, help: string]>;
}

const commonFilters: EntityCommandConfig['filters'] = [
  ['--q <text>', 'q', 'free text'],
  ['--tag <tag>', 'tag', 'tag'],
];
const typeFilters: EntityCommandConfig['filters'] = [
  ['--app <app>', 'app', 'app, e.g. ig'],
  ['--surface <surface>', 'surface', 'surface, e.g. feed'],
  ['--architecture <arch>', 'architecture', 'architecture, e.g. mtml'],
  ['--funnel-stage <stage>', 'funnelStage', 'retrieval | early_stage_ranking | late_stage_ranking | other'],
  ['--owner-team <team>', 'ownerTeam', 'owner team'],
  ['--criticality <tier>', 'criticality', 'TIER0..TIER4'],
];

const configs: EntityCommandConfig[] = [
  { command: 'teams', collection: 'teams', noun: 'team', columns: ['name', 'oncallRotation', 'members', 'quota', 'launchPolicy', 'version'], filters: commonFilters },
  {
    command: 'types',
    collection: 'model-types',
    noun: 'model type',
    columns: ['name', 'criticality', 'funnelStage', 'ownerTeam', 'baselineModelId', 'version'],
    filters: [...commonFilters, ...typeFilters],
  },
  {
    command: 'models',
    collection: 'models',
    noun: 'model',
    columns: ['id', 'role', 'trafficShare', 'effectiveCriticality', 'version'],
    filters: [...commonFilters, ...typeFilters, ['--model-type <type>', 'modelType', 'model type'], ['--role <role>', 'role', 'candidate | experiment | shadow | baseline | holdout | retired']],
  },
];

/** Reads a JSON or YAML document from a file, or `-` for stdin. */
function readDocument(file: string): unknown {
  const text = readFileSync(file === '-' ? 0 : file, 'utf8');
  try {
    return parseYaml(text);
  } catch (error) {
    throw new Error(`${file}: not valid YAML or JSON: ${(error as Error).message}`);
  }
}

const withReason = (reason: unknown): Record<string, string> => (reason ? { 'x-change-reason': encodeURIComponent(String(reason)) } : {});

/** `modelfleet teams|types|models list|get|create|update|delete|history`, talking to a server. */
export function registerEntityCommands(program: Command): void {
  for (const config of configs) {
    const group = program.command(config.command).description(`${config.noun}s in the registry`);
    const path = (key: string) => `/${config.collection}/${encodeURIComponent(key)}`;

    const list = withServerOptions(group.command('list').description(`list ${config.noun}s`));
    for (const [flag, , help] of config.filters) list.option(flag, help);
    list
      .option('--limit <n>', 'at most this many (default: all)')
      .option('--json', 'print JSON')
      .action(async (options: Record<string, unknown>) => {
        const client = new ApiClient(clientOptions(options));
        const query = definedOnly(Object.fromEntries(config.filters.map(([flag, key]) => [key, options[camel(flag)] as string | undefined])));
        let items: Array<Record<string, unknown>>;
        if (options['limit']) {
          const page = await client.request<{ items: Array<Record<string, unknown>> }>('GET', `/${config.collection}?${new URLSearchParams({ ...query, limit: String(options['limit']) })}`);
          items = page.body.items;
        } else {
          items = await client.listAll(`/${config.collection}`, query);
        }
        if (options['json']) printJson(items);
        else printTable(items, config.columns);
      });

    withServerOptions(group.command('get').argument('<key>').option('--json', 'print JSON').description(`show one ${config.noun}`)).action(
      async (key: string, options: Record<string, unknown>) => {
        const { body } = await new ApiClient(clientOptions(options)).request<Record<string, unknown>>('GET', path(key));
        printJson(body);
      },
    );

    if (config.command === 'models') {
      withServerOptions(
        group.command('explain').argument('<id>').description('what an on-call engineer needs: purpose, tier, owner, on-call, and the safe first response'),
      ).action(async (id: string, options: Record<string, unknown>) => {
        const client = new ApiClient(clientOptions(options));
        const { body: model } = await client.request<Model>('GET', path(id));
        const { body: type } = await client.request<ModelType>('GET', `/model-types/${encodeURIComponent(model.modelType)}`);
        process.stdout.write(`${onCallBrief(model, type).join('\n')}\n`);
      });
    }

    withServerOptions(
      group
        .command('create')
        .requiredOption('-f, --file <file>', 'YAML or JSON document, or - for stdin')
        .option('--reason <text>', 'why; recorded in the history')
        .option('--json', 'print JSON')
        .description(`create a ${config.noun}`),
    ).action(async (options: Record<string, unknown>) => {
      const document = readDocument(options['file'] as string) as Record<string, unknown>;
      const { kind: _kind, ...input } = document ?? {};
      const { body } = await new ApiClient(clientOptions(options)).request<Record<string, unknown>>('POST', `/${config.collection}`, { body: input, headers: withReason(options['reason']) });
      if (options['json']) printJson(body);
      else process.stdout.write(`created ${config.noun} ${String(body['name'] ?? body['id'])} (version ${String(body['version'])})\n`);
      const pending = body['pendingApproval'] as { id: number; requestedCriticality: string } | null | undefined;
      if (pending) process.stderr.write(`${pending.requestedCriticality} is waiting for a platform admin's approval (approval ${pending.id}); until then the type stays ${String(body['criticality'])}\n`);
    });

    const update = group
      .command('update')
      .argument('<key>')
      .option('-f, --file <file>', 'fields to change (JSON Merge Patch: null removes a field), YAML or JSON, or - for stdin')
      .option('--if-match <version>', 'the version you last read; default: the current one')
      .option('--reason <text>', 'why; recorded in the history')
      .option('--json', 'print JSON')
      .description(`change fields of a ${config.noun}`);
    if (config.command === 'teams') {
      update
        .option('--quota <units>', "the team's quota in capacity units (replicas x unit cost), or 'none' for no quota; platform admins only")
        .option('--launch-policy <policy>', 'auto_within_quota | no_capacity_regression | manual; platform admins only');
    }
    withServerOptions(update).action(async (key: string, options: Record<string, unknown>) => {
      const patch = updatePatch(options, config.command === 'teams');
      const client = new ApiClient(clientOptions(options));
      const version = (options['ifMatch'] as string | undefined) ?? (await client.request<{ version: number }>('GET', path(key))).body.version;
      const { body } = await client.request<Record<string, unknown>>('PATCH', path(key), {
        body: patch,
        contentType: 'application/merge-patch+json',
        headers: { 'if-match': `"${version}"`, ...withReason(options['reason']) },
      });
      if (options['json']) printJson(body);
      else process.stdout.write(`updated ${config.noun} ${key} to version ${String(body['version'])}\n`);
      const pending = body['pendingApproval'] as { id: number; requestedCriticality: string } | null | undefined;
      if (pending) process.stderr.write(`${pending.requestedCriticality} is waiting for a platform admin's approval (approval ${pending.id})\n`);
    });

    withServerOptions(
      group
        .command('delete')
        .argument('<key>')
        .option('--if-match <version>', 'the version you last read; default: the current one')
        .option('--reason <text>', 'why; recorded in the history')
        .description(`delete a ${config.noun} (its history stays)`),
    ).action(async (key: string, options: Record<string, unknown>) => {
      const client = new ApiClient(clientOptions(options));
      const version = (options['ifMatch'] as string | undefined) ?? (await client.request<{ version: number }>('GET', path(key))).body.version;
      await client.request('DELETE', path(key), { headers: { 'if-match': `"${version}"`, ...withReason(options['reason']) } });
      process.stdout.write(`deleted ${config.noun} ${key}\n`);
    });

    withServerOptions(group.command('history').argument('<key>').option('--json', 'print JSON').description(`every change to a ${config.noun}`)).action(
      async (key: string, options: Record<string, unknown>) => {
        const { body } = await new ApiClient(clientOptions(options)).request<{ items: Array<Record<string, unknown>> }>('GET', `${path(key)}/history`);
        if (options['json']) return printJson(body.items);
        printTable(
          body.items.map((c) => ({ ...c, changed: (c['patch'] as Array<{ path: string }>).map((p) => p.path.split('/')[1]).filter((v, i, a) => v && a.indexOf(v) === i).join(',') })),
          ['seq', 'version', 'action', 'actor', 'at', 'reason', 'changed'],
        );
      },
    );
  }
}

/** The merge patch of `update`: the file's fields, then the team flags on top; the file alone is sent as written. */
function updatePatch(options: Record<string, unknown>, teamFlags: boolean): unknown {
  const flags: Record<string, unknown> = {};
  if (options['quota'] !== undefined) {
    const raw = String(options['quota']);
    const quota = raw === 'none' ? null : Number(raw);
    if (quota !== null && (raw.trim() === '' || !Number.isFinite(quota))) throw new Error(`--quota '${raw}' is not a number: give capacity units, e.g. --quota 120, or --quota none`);
    flags['quota'] = quota;
  }
  if (options['launchPolicy'] !== undefined) flags['launchPolicy'] = options['launchPolicy'];
  const file = options['file'] as string | undefined;
  if (file === undefined) {
    if (!Object.keys(flags).length) throw new Error(`nothing to change: give the fields to change with -f FILE${teamFlags ? ', --quota or --launch-policy' : ''}`);
    return flags;
  }
  const document = readDocument(file);
  if (!Object.keys(flags).length) return document;
  if (document === null || typeof document !== 'object' || Array.isArray(document)) throw new Error(`${file}: a merge patch is a mapping of the fields to change`);
  return { ...document, ...flags };
}

const camel = (flag: string) => flag.replace(/^--/, '').split(' ')[0]!.replace(/-(\w)/g, (_, c: string) => c.toUpperCase());
