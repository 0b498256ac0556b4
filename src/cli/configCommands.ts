import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { formatProblem, parseConfigFiles, renderConfigDocuments, validateConfigDocuments, type ConfigDocument } from '../registry/configDocuments.js';
import type { PlannedChange } from '../registry/configPlan.js';
import type { RegistryKind } from '../registry/entry.js';
import { defaultRegistrySettings } from '../registry/settings.js';
import type { Model } from '../registry/model.js';
import type { ModelType } from '../registry/modelType.js';
import type { Team } from '../registry/team.js';
import { ApiClient, ApiError } from './client.js';
import { readConfigDirectory } from './configFiles.js';
import { progress, progressDone } from './output.js';
import { clientOptions, withServerOptions } from './serverOptions.js';

/** Reads and checks a directory offline; prints `file:line` problems and fails when there are any. */
function loadDirectory(dir: string): ConfigDocument[] {
  const { documents, problems } = parseConfigFiles(readConfigDirectory(dir));
  problems.push(...validateConfigDocuments(documents, defaultRegistrySettings));
  if (problems.length) {
    for (const problem of problems) process.stderr.write(`${formatProblem(problem)}\n`);
    throw new Error(`${problems.length} problem(s) in ${dir}; nothing was sent to the server`);
  }
  return documents;
}

const kindWord: Record<RegistryKind, string> = { team: 'team', modelType: 'model_type', model: 'model' };
const sign = { create: '+', update: '~', delete: '-' } as const;

function printPlan(changes: PlannedChange[]): void {
  for (const change of changes) {
    const where = change.source ? `  (${change.source})` : '';
    process.stdout.write(`  ${sign[change.action]} ${kindWord[change.kind]} ${change.key}${where}\n`);
    for (const field of change.fields) {
      const show = (v: unknown) => (v === undefined ? '(none)' : JSON.stringify(v));
      process.stdout.write(`      ${field.path}: ${show(field.from)} -> ${show(field.to)}\n`);
    }
  }
}

function summaryLine(summary: { create: number; update: number; delete: number }): string {
  return `${summary.create} to create, ${summary.update} to change, ${summary.delete} to delete.`;
}

/** Maps server-side error paths (which carry the `file:line` the CLI sent) back to lines people can open. */
function reportApiError(error: unknown): never {
  if (error instanceof ApiError && error.details.length) {
    for (const detail of error.details) process.stderr.write(`${detail.path}: ${detail.message}\n`);
    throw new Error(`the server refused the configuration (${error.code}); nothing was changed`);
  }
  throw error;
}

async function sendPlan(dir: string, options: { prune?: boolean; dryRun: boolean; reason?: string } & Record<string, unknown>) {
  const documents = loadDirectory(dir);
  const client = new ApiClient(clientOptions(options));
  progress(`${options.dryRun ? 'planning' : 'applying'} ${documents.length} document(s) against ${client.server}...`);
  try {
    const result = await client.request<{ applied: boolean; changes: PlannedChange[]; summary: { create: number; update: number; delete: number } }>('POST', '/apply', {
      body: {
        documents: documents.map((d) => ({ kind: d.kind, input: d.input, source: `${d.file}:${d.line}` })),
        prune: Boolean(options.prune),
        dryRun: options.dryRun,
      },
      ...(options.reason ? { headers: { 'x-change-reason': encodeURIComponent(options.reason) } } : {}),
    });
    progressDone();
    return result.body;
  } catch (error) {
    progressDone();
    return reportApiError(error);
  }
}

export function registerConfigCommands(program: Command): void {
  program
    .command('validate')
    .argument('<dir>', 'directory of YAML files (kind: Team | ModelType | Model)')
    .description('check a config directory offline; prints file:line problems and exits non-zero on any')
    .action((dir: string) => {
      const documents = loadDirectory(dir);
      process.stdout.write(`${documents.length} document(s) in ${dir} are valid.\n`);
    });

  withServerOptions(
    program
      .command('plan')
      .argument('<dir>', 'directory of YAML files')
      .option('--prune', 'also plan deleting entries of the directory\'s teams that it no longer declares')
      .option('--detailed-exitcode', 'exit 2 when there are changes, 0 when none')
      .description('show what apply would create, change and delete; every server-side check runs, nothing is written'),
  ).action(async (dir: string, options: Record<string, unknown>) => {
    const result = await sendPlan(dir, { ...options, dryRun: true });
    if (!result.changes.length) {
      process.stdout.write('No changes. The registry matches the configuration.\n');
      return;
    }
    printPlan(result.changes);
    process.stdout.write(`\nPlan: ${summaryLine(result.summary)}\n`);
    if (options['detailedExitcode']) process.exitCode = 2;
  });

  withServerOptions(
    program
      .command('apply')
      .argument('<dir>', 'directory of YAML files')
      .option('--prune', 'delete entries of the directory\'s teams that it no longer declares')
      .option('--reason <text>', 'why; recorded with every change')
      .description('make the registry match the directory, in one transaction: all or nothing'),
  ).action(async (dir: string, options: Record<string, unknown>) => {
    const result = await sendPlan(dir, { ...options, dryRun: false });
    if (!result.changes.length) {
      process.stdout.write('No changes. The registry matches the configuration.\n');
      return;
    }
    printPlan(result.changes);
    process.stdout.write(`\nApplied: ${summaryLine(result.summary).replace(/to /g, '')}\n`);
  });

  withServerOptions(
    program
      .command('export')
      .argument('<dir>', 'directory to write, one YAML file per team')
      .option('--team <name>', 'only this team')
      .description('write the registry as config files that plan reads back with no changes'),
  ).action(async (dir: string, options: Record<string, unknown>) => {
    const client = new ApiClient(clientOptions(options));
    const team = options['team'] as string | undefined;
    const teams = (await client.listAll<Team>('/teams')).filter((t) => !team || t.name === team);
    const types = await client.listAll<ModelType>('/model-types', { ownerTeam: team });
    const models = await client.listAll<Model>('/models', { ownerTeam: team }, (n) => progress(`exporting: ${n} models`));
    progressDone();
    const modelsByType = new Map<string, Model[]>();
    for (const model of models) modelsByType.set(model.modelType, [...(modelsByType.get(model.modelType) ?? []), model]);
    mkdirSync(dir, { recursive: true });
    for (const t of teams) {
      const entries: Array<{ kind: RegistryKind; input: Record<string, unknown> }> = [{ kind: 'team', input: teamInput(t) }];
      for (const type of types.filter((x) => x.ownerTeam === t.name)) {
        entries.push({ kind: 'modelType', input: modelTypeInput(type) });
        for (const model of modelsByType.get(type.name) ?? []) entries.push({ kind: 'model', input: modelInput(model) });
      }
      writeFileSync(join(dir, `${t.name}.yaml`), renderConfigDocuments(entries));
    }
    process.stdout.write(`Exported ${teams.length} team(s), ${types.length} model type(s), ${models.length} model(s) to ${dir}.\n`);
  });
}

function teamInput(team: Team): Record<string, unknown> {
  return { name: team.name, description: team.description, oncallRotation: team.oncallRotation };
}

function modelTypeInput(type: ModelType): Record<string, unknown> {
  const { version: _v, createdAt: _c, updatedAt: _u, parsed: _p, pendingApproval: _a, baselineModelId: _b, holdoutModelId: _h, ...spec } = type;
  return spec;
}

function modelInput(model: Model): Record<string, unknown> {
  const { version: _v, createdAt: _c, updatedAt: _u, effectiveCriticality: _e, modelType: _t, ...spec } = model;
  return spec;
}
