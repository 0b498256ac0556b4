import type { Command } from 'commander';
import type { Launch, LaunchEvent } from '../launch/launch.js';
import { isTerminal, LaunchAction } from '../launch/launchPhase.js';
import { ApiClient } from './client.js';
import { numberOption } from './optionValues.js';
import { printJson, printTable } from './output.js';
import { clientOptions, withServerOptions } from './serverOptions.js';

const pct = (x: number) => `${Math.round(x * 1000) / 10}%`;
const units = (x: number | null | undefined) => (x === null || x === undefined ? '-' : `${Math.round(x * 100) / 100}`);
const signed = (x: number | null | undefined) => (x === null || x === undefined ? '-' : x > 0 ? `+${units(x)}` : units(x));

/** One line that says where a launch is: phase, step, shares, replicas. */
export function launchLine(l: Launch): string {
  const step = l.phase === 'shifting' || (l.phase === 'paused' && l.pausedFrom === 'shifting') ? ` step ${l.step + 1}/${l.plan.length}${l.stage ? ` (${l.stage.replaceAll('_', ' ')})` : ''}` : l.stage ? ` (${l.stage.replaceAll('_', ' ')})` : '';
  return `${l.phase}${step}: traffic ${l.candidate} ${pct(l.traffic.candidate)}${l.baseline ? ` / ${l.baseline} ${pct(l.traffic.baseline)}` : ''}; replicas ${l.replicas.candidate}${l.baseline ? ` / ${l.replicas.baseline}` : ''}`;
}

/** The full status: estimate and approval, plan, gates, outcome. */
export function describeLaunch(l: Launch): string {
  const out: string[] = [];
  out.push(`launch ${l.id}: ${l.candidate} on ${l.modelType} (team ${l.team}, ${l.executor} executor)`);
  out.push(`  ${launchLine(l)}`);
  if (l.estimate) {
    const e = l.estimate;
    out.push(`  estimate: ${e.replicas} replica(s) at ${e.maxQpsPerReplica} QPS each for a peak of ${Math.round(e.peakQps * 10) / 10} QPS (${e.demandSource}); cost ${units(e.cost)}${e.baseline ? `, baseline ${e.baseline.model} ${units(e.baseline.cost)}, change ${signed(e.costChange)}` : ''}`);
    out.push(`  capacity from ${e.capacitySource}`);
  }
  if (l.expectedGain) out.push(`  expected gain: ${l.expectedGain}`);
  if (l.approval) {
    const a = l.approval;
    const what = a.decision === 'auto' ? 'approved automatically' : a.decision === 'refused' ? 'refused' : a.approvedBy ? `approved by ${a.approvedBy}` : 'waiting for approval';
    out.push(`  approval (${a.policy}): ${what}: ${a.reason}`);
  }
  if (l.plan.length) out.push(`  plan: ${l.plan.map((s, i) => `${i === l.step ? '[' : ''}${pct(s.share)} ${s.candidateReplicas}/${s.baselineReplicas}${i === l.step ? ']' : ''}`).join(' -> ')}${l.planNote ? ` (${l.planNote})` : ''}`);
  if (l.reservedUnits) out.push(`  reserved from the team's pool: ${units(l.reservedUnits)} units`);
  const lastStep = l.gates.length ? Math.max(...l.gates.map((g) => g.step)) : null;
  for (const g of l.gates.filter((x) => x.step === lastStep)) out.push(`  gate ${g.name} (step ${g.step + 1}): ${g.pass ? 'pass' : 'FAIL'}: ${g.detail}`);
  if (l.outcome) out.push(`  outcome: ${l.outcome}`);
  if (l.summary) out.push(`  summary: ${l.summary.durationSeconds} s, ${l.summary.steps} step(s), ${l.summary.replicas} replica(s), cost change ${signed(l.summary.costChange)}${l.summary.retired ? `, ${l.summary.retired} retired` : ''}${l.summary.heldOut ? `, ${l.summary.heldOut} is the holdout` : ''}`);
  return `${out.join('\n')}\n`;
}

/** Prints each new event until the launch ends (or waits for a person), then its status. */
async function follow(client: ApiClient, id: string, intervalMs = 1000): Promise<Launch> {
  let seen = 0;
  for (;;) {
    const { body: events } = await client.request<{ items: LaunchEvent[] }>('GET', `/launches/${encodeURIComponent(id)}/events`);
    for (const e of events.items.slice(seen)) {
      const time = e.at.slice(11, 19);
      process.stdout.write(`${time} ${e.from && e.from !== e.to ? `${e.from} -> ${e.to}` : e.to}: ${e.reason}\n`);
    }
    seen = events.items.length;
    const { body: launch } = await client.request<Launch>('GET', `/launches/${encodeURIComponent(id)}`);
    if (isTerminal(launch.phase) || launch.phase === 'awaiting_approval' || launch.phase === 'paused') return launch;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

const exitCodeOf = (l: Launch) => (l.phase === 'failed' || l.phase === 'rolled_back' || l.phase === 'aborted' ? 1 : 0);

/** `modelfleet launch start|status|list|approve|pause|resume|abort|promote`. */
export function registerLaunchCommands(program: Command): void {
  const group = program.command('launch').description('launch a model: estimate, approve, shift traffic in steps behind health gates, finalize the registry');

  withServerOptions(
    group
      .command('start')
      .description('start a launch of a candidate model; prints its estimate and approval, and with --follow every step until it ends')
      .requiredOption('--model-type <type>', 'the model type')
      .requiredOption('--candidate <model>', 'the model to launch')
      .option('--executor <kind>', 'local | simulated | kubernetes', 'local')
      .option('--step <share>', 'share of the traffic moved per step', '0.2')
      .option('--bake <seconds>', "seconds each step runs before its gates are read (default: the type's serving.bakeSeconds)")
      .option('--peak-qps <qps>', "the type's peak demand, when the router has not observed it")
      .option('--expected-gain <text>', 'what the candidate should win, shown at approval time')
      .option('--holdout', 'make the old baseline the holdout instead of retiring it')
      .option('--reason <text>', 'why, recorded with the launch')
      .option('--follow', 'show the steps as they happen, until the launch ends or waits for approval')
      .option('--json', 'print JSON'),
  ).action(async (options: Record<string, unknown>) => {
    const body = {
      modelType: String(options['modelType']),
      candidate: String(options['candidate']),
      executor: String(options['executor']),
      stepShare: numberOption('--step', options['step']),
      ...(options['bake'] !== undefined ? { bakeSeconds: numberOption('--bake', options['bake']) } : {}),
      ...(options['peakQps'] !== undefined ? { peakQps: numberOption('--peak-qps', options['peakQps']) } : {}),
      ...(options['expectedGain'] ? { expectedGain: String(options['expectedGain']) } : {}),
      ...(options['holdout'] ? { retireBaseline: 'holdout' } : {}),
      ...(options['reason'] ? { reason: String(options['reason']) } : {}),
    };
    const client = new ApiClient(clientOptions(options));
    let { body: launch } = await client.request<Launch>('POST', '/launches', { body });
    if (options['follow'] && !options['json']) {
      process.stdout.write(`launch ${launch.id} started\n`);
      launch = await follow(client, launch.id);
    }
    if (options['json']) printJson(launch);
    else process.stdout.write(describeLaunch(launch));
    process.exitCode = exitCodeOf(launch);
  });

  withServerOptions(group.command('status <id>').description("a launch's phase, step, traffic shares, replicas and gates").option('--follow', 'follow it until it ends').option('--json', 'print JSON')).action(
    async (id: string, options: Record<string, unknown>) => {
      const client = new ApiClient(clientOptions(options));
      const launch = options['follow'] ? await follow(client, id) : (await client.request<Launch>('GET', `/launches/${encodeURIComponent(id)}`)).body;
      if (options['json']) return printJson(launch);
      process.stdout.write(describeLaunch(launch));
    },
  );

  withServerOptions(
    group
      .command('list')
      .description('launches, newest first')
      .option('--team <team>')
      .option('--model-type <type>')
      .option('--active', 'unfinished launches only')
      .option('--json', 'print JSON'),
  ).action(async (options: Record<string, unknown>) => {
    const client = new ApiClient(clientOptions(options));
    const query = new URLSearchParams();
    if (options['team']) query.set('team', String(options['team']));
    if (options['modelType']) query.set('modelType', String(options['modelType']));
    if (options['active']) query.set('active', 'true');
    const { body } = await client.request<{ items: Launch[] }>('GET', `/launches${query.size ? `?${query}` : ''}`);
    if (options['json']) return printJson(body.items);
    if (!body.items.length) return void process.stdout.write('no launches\n');
    printTable(
      body.items.map((l) => ({ id: l.id, type: l.modelType, candidate: l.candidate, phase: l.phase, step: l.plan.length ? `${Math.max(0, l.step + 1)}/${l.plan.length}` : '-', traffic: pct(l.traffic.candidate), replicas: l.replicas.candidate, started: l.createdAt.slice(0, 19).replace('T', ' ') })),
      ['id', 'type', 'candidate', 'phase', 'step', 'traffic', 'replicas', 'started'],
    );
  });

  for (const action of LaunchAction) {
    withServerOptions(group.command(`${action} <id>`).description(ACTION_HELP[action]).option('--reason <text>', 'why, recorded with the launch').option('--json', 'print JSON')).action(
      async (id: string, options: Record<string, unknown>) => {
        const client = new ApiClient(clientOptions(options));
        const { body: launch } = await client.request<Launch>('POST', `/launches/${encodeURIComponent(id)}/${action}`, { body: options['reason'] ? { reason: String(options['reason']) } : {} });
        if (options['json']) return printJson(launch);
        process.stdout.write(describeLaunch(launch));
      },
    );
  }
}

const ACTION_HELP: Record<LaunchAction, string> = {
  approve: 'approve a launch that waits for approval',
  reject: 'reject a launch that waits for approval',
  pause: 'pause a launch where it is (traffic stays as it is)',
  resume: 'resume a paused launch',
  abort: 'abort a launch: the old model scales back up and takes its traffic back, the candidate is removed',
  promote: 'skip the remaining steps: all traffic moves to the candidate once its replicas are ready, without bake or gates',
};
