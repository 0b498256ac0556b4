import type { Command } from 'commander';
import type { TeamPool } from '../launch/quota.js';
import { ApiClient } from './client.js';
import { printJson, printTable } from './output.js';
import { clientOptions, withServerOptions } from './serverOptions.js';

const amount = (x: number | null) => (x === null ? '-' : String(Number(x.toFixed(2))));
const percent = (share: number | null) => (share === null ? '-' : `${Math.round(share * 1000) / 10}%`);

/** `modelfleet quotas [--team T]`: each team's virtual pool, in capacity units. */
export function registerQuotaCommands(program: Command): void {
  withServerOptions(
    program
      .command('quotas')
      .description("teams' virtual pools in capacity units (replicas x unit cost): quota, used by live models, reserved by running launches, free")
      .option('--team <team>', 'one team, with the models that use its pool')
      .option('--json', 'print JSON'),
  ).action(async (options: Record<string, unknown>) => {
    const client = new ApiClient(clientOptions(options));
    const team = options['team'] as string | undefined;
    const pools = team
      ? [(await client.request<TeamPool>('GET', `/teams/${encodeURIComponent(team)}/quota`)).body]
      : (await client.request<{ items: TeamPool[] }>('GET', '/quotas')).body.items;
    if (options['json']) return printJson(team ? pools[0] : pools);
    printTable(
      pools.map((p) => ({
        team: p.team,
        policy: p.launchPolicy,
        quota: p.quota === null ? 'none' : amount(p.quota),
        used: amount(p.used),
        reserved: amount(p.reserved),
        free: amount(p.free),
        '% used': percent(p.usedShare),
      })),
      ['team', 'policy', 'quota', 'used', 'reserved', 'free', '% used'],
    );
    const [pool] = pools;
    if (team && pool) {
      process.stdout.write('\n');
      printTable(
        pool.models.map((m) => ({ model: m.id, role: m.role, replicas: m.replicas, 'unit cost': amount(m.unitCost), units: amount(m.units) })),
        ['model', 'role', 'replicas', 'unit cost', 'units'],
      );
    }
  });
}
