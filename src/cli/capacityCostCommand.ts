import type { Command } from 'commander';
import type { ModelCost } from '../capacity/capacityService.js';
import { ApiClient } from './client.js';
import { numberOption } from './optionValues.js';
import { printJson, printTable } from './output.js';
import { clientOptions, withServerOptions } from './serverOptions.js';

const money = (x: number) => (Math.round(x * 100) / 100).toLocaleString('en-US');
const signed = (x: number, format: (n: number) => string) => (x > 0 ? `+${format(x)}` : x < 0 ? `-${format(-x)}` : '0');

/** `modelfleet capacity cost MODEL --peak-qps N`: replicas and cost from the measured capacity. */
export function registerCapacityCostCommand(group: Command): void {
  withServerOptions(
    group
      .command('cost <model>')
      .description("replicas and cost of a model at a peak demand, from its measured capacity, against its type's baseline")
      .requiredOption('--peak-qps <qps>', "the model type's peak demand, requests per second")
      .option('--headroom <share>', 'spare capacity above the peak (0.3 is 30%)', '0.3')
      .option('--min-replicas <n>', 'never fewer, for redundancy', '2')
      .option('--unit-cost <cost>', "cost of one replica (default: the model's capacity profile)")
      .option('--write', "record the replicas (and unit cost) on the model's capacity profile")
      .option('--reason <text>', 'with --write: why, recorded in history')
      .option('--json', 'print JSON'),
  ).action(async (model: string, options: Record<string, unknown>) => {
    const body = {
      peakQps: numberOption('--peak-qps', options['peakQps']),
      headroom: numberOption('--headroom', options['headroom']),
      minReplicas: numberOption('--min-replicas', options['minReplicas']),
      ...(options['unitCost'] !== undefined ? { unitCost: numberOption('--unit-cost', options['unitCost']) } : {}),
      write: Boolean(options['write']),
    };
    const client = new ApiClient(clientOptions(options));
    const headers: Record<string, string> = options['reason'] ? { 'x-change-reason': encodeURIComponent(String(options['reason'])) } : {};
    const { body: cost } = await client.request<ModelCost>('POST', `/models/${encodeURIComponent(model)}/capacity/cost`, { body, headers });
    if (options['json']) return printJson(cost);
    const i = cost.input;
    process.stdout.write(
      `${cost.model}: ${cost.replicas} replicas for a peak of ${i.peakQps} QPS + ${Math.round(i.headroom * 100)}% headroom at ${i.maxQpsPerReplica} QPS each (at least ${i.minReplicas}); ${Math.round(cost.utilizationAtPeak * 100)}% busy at peak\n\n`,
    );
    const rows: Array<Record<string, unknown>> = [{ what: cost.model, replicas: cost.replicas, cost: money(cost.cost) }];
    if (cost.baseline && cost.baselineModel) {
      rows.push({ what: `${cost.baselineModel} (baseline)`, replicas: cost.baseline.replicas, cost: money(cost.baseline.cost) });
      rows.push({ what: 'change', replicas: signed(cost.delta!.replicas, String), cost: signed(cost.delta!.cost, money) });
    }
    printTable(rows, ['what', 'replicas', 'cost']);
    if (cost.change) process.stdout.write(`\nrecorded on ${cost.model} (change ${(cost.change as { seq: number }).seq})\n`);
  });
}
