import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Command } from 'commander';
import type { RecordingInfo } from '../capacity/recordingStore.js';
import { ApiClient } from './client.js';
import { printJson, printTable } from './output.js';
import { clientOptions, withServerOptions } from './serverOptions.js';

/** A file's name as a recording name: lower-case, the characters recordings allow. */
const nameOf = (file: string) =>
  basename(file)
    .replace(/\.(ndjson|jsonl)$/i, '')
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 100) || 'recording';

/** `modelfleet recordings import|list`: recorded traffic per model type, for capacity estimates. */
export function registerRecordingCommands(program: Command): void {
  const group = program.command('recordings').description('recorded traffic per model type, replayed by capacity estimates');

  withServerOptions(
    group
      .command('import <modelType> <file>')
      .description('store an NDJSON recording (one request a line: {"method", "path", "headers"?, "body"?, "ts"?}); - reads stdin')
      .option('--name <name>', 'name of the recording (default: the file name)')
      .option('--json', 'print the stored recording as JSON'),
  ).action(async (modelType: string, file: string, options: Record<string, unknown>) => {
    const text = readFileSync(file === '-' ? 0 : file, 'utf8');
    const name = (options['name'] as string | undefined) ?? (file === '-' ? undefined : nameOf(file));
    const client = new ApiClient(clientOptions(options));
    const query = name ? `?name=${encodeURIComponent(name)}` : '';
    const { body } = await client.request<RecordingInfo>('POST', `/model-types/${encodeURIComponent(modelType)}/recordings${query}`, { raw: text });
    if (options['json']) return printJson(body);
    process.stdout.write(`stored recording ${body.name} (${body.id}) for ${body.modelType}: ${body.requests} requests, ${body.bytes} bytes\n`);
  });

  withServerOptions(group.command('list <modelType>').description("a model type's recordings, newest first").option('--json', 'print JSON')).action(
    async (modelType: string, options: Record<string, unknown>) => {
      const client = new ApiClient(clientOptions(options));
      const { body } = await client.request<{ items: RecordingInfo[] }>('GET', `/model-types/${encodeURIComponent(modelType)}/recordings`);
      if (options['json']) return printJson(body.items);
      printTable(body.items as unknown as Array<Record<string, unknown>>, ['id', 'name', 'requests', 'bytes', 'source', 'createdBy', 'createdAt']);
    },
  );
}
