import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { formatBand, formatValue, type Alert } from '../alerting/alert.js';
import type { ChangeRecord } from '../registry/change.js';
import type { Model, TaskThresholds } from '../registry/model.js';
import { percent } from '../registry/onCallBrief.js';
import { parseDuration } from '../stability/labeledEvent.js';
import type { ModelEvaluation, TaskEvaluation } from '../stability/evaluation.js';
import type { FleetStability, LearnOutcome, ModelSlo, ModelStabilityReport, Rollup, TaskPoint } from '../stability/stabilityService.js';
import { ApiClient, definedOnly } from './client.js';
import { printJson, printTable } from './output.js';
import { clientOptions, withServerOptions } from './serverOptions.js';

type Options = Record<string, unknown>;

const modelPath = (id: string) => `/models/${encodeURIComponent(id)}`;
const out = (text = '') => process.stdout.write(`${text}\n`);

/** "2026-11-25T10:03Z": minutes are what on-call compares against a dashboard. */
const minute = (at: number | string | null | undefined) => (at === null || at === undefined ? '-' : new Date(at).toISOString().slice(0, 16) + 'Z');
const num = (value: number | null | undefined, digits = 4) => (value === null || value === undefined ? null : formatValue(Number(value.toPrecision(digits))));
const pct = (value: number | null | undefined, digits = 2) => (value === null || value === undefined ? null : `${Number((value * 100).toFixed(digits))}%`);

/**
 * `--from`/`--to`: epoch ms and RFC 3339 go to the server as they are; a duration such as `6h` means
 * that long before now, on this machine's clock, which is the server's too in any ordinary setup.
 */
function timeArg(flag: string, text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  if (/^\d{12,}$/.test(text) || /^\d{4}-\d{2}-\d{2}T/.test(text)) return text;
  const ago = parseDuration(text);
  if (ago === null) throw new Error(`${flag} '${text}' is not a time: use an RFC 3339 time (2026-11-25T10:00:00Z), epoch milliseconds, or a duration before now (6h, 2d)`);
  // Whole minutes: points then fall on the minute boundaries the server evaluates at.
  const at = Date.now() - ago;
  return String(at - (at % 60_000));
}

// ---- sparklines ----

const BARS = '▁▂▃▄▅▆▇█';

export interface Sparkline {
  /** One character per column; a space where there was no data. */
  chars: string[];
  /** Columns holding at least one point outside the band. */
  outside: boolean[];
  min: number | null;
  max: number | null;
  outsidePoints: number;
}

/**
 * Squeezes `values` into at most `width` columns (a column shows the mean of its points, and is
 * outside the band if any of its points is) and draws each as one of eight bar heights, scaled to the
 * values' own range so small drifts stay visible.
 */
export function sparkline(values: ReadonlyArray<number | null>, width: number, isOutside: (value: number) => boolean): Sparkline {
  const perColumn = Math.max(1, Math.ceil(values.length / Math.max(1, width)));
  const columns: Array<{ mean: number | null; outside: boolean }> = [];
  let outsidePoints = 0;
  for (let i = 0; i < values.length; i += perColumn) {
    let sum = 0;
    let n = 0;
    let outside = false;
    for (const v of values.slice(i, i + perColumn)) {
      if (v === null || !Number.isFinite(v)) continue;
      sum += v;
      n += 1;
      if (isOutside(v)) {
        outside = true;
        outsidePoints += 1;
      }
    }
    columns.push({ mean: n ? sum / n : null, outside });
  }
  const present = columns.map((c) => c.mean).filter((v): v is number => v !== null);
  const min = present.length ? Math.min(...present) : null;
  const max = present.length ? Math.max(...present) : null;
  const chars = columns.map(({ mean }) => {
    if (mean === null) return ' ';
    if (min === null || max === null || max === min) return BARS[3]!;
    return BARS[Math.min(BARS.length - 1, Math.floor(((mean - min) / (max - min)) * BARS.length))]!;
  });
  return { chars, outside: columns.map((c) => c.outside), min, max, outsidePoints };
}

function renderSparkline(line: Sparkline, color: boolean): { text: string; markers: string | null } {
  if (color) return { text: line.chars.map((c, i) => (line.outside[i] ? `\x1b[31m${c}\x1b[0m` : c)).join(''), markers: null };
  // Without colour, a caret row under the line shows where the band was left.
  return { text: line.chars.join(''), markers: line.outside.some(Boolean) ? line.outside.map((o) => (o ? '^' : ' ')).join('') : null };
}

// ---- stability ----

function bandText(t: TaskThresholds | null | undefined): { calibration: string | null; ne: string | null } {
  if (!t) return { calibration: null, ne: null };
  return { calibration: formatBand({ min: t.calibration.min, max: t.calibration.max }), ne: formatBand({ min: null, max: t.neMax }) };
}

function taskRow(task: string, evaluation: TaskEvaluation | undefined, thresholds: TaskThresholds | null) {
  const band = bandText(thresholds);
  const m = evaluation?.metrics;
  const violations = evaluation?.violations
    .map((v) => (v.metric === 'ne' && v.band.max !== null ? `ne ${formatValue(v.value)} above ${formatValue(v.band.max)}` : `${v.metric} ${formatValue(v.value)} outside ${formatBand(v.band)}`))
    .join('; ');
  return {
    task,
    status: evaluation?.status ?? null,
    count: m?.count ?? null,
    positives: m ? num(m.positives, 6) : null,
    calibration: num(m?.calibration),
    ne: num(m?.ne),
    calibration_band: band.calibration,
    ne_max: thresholds ? formatValue(thresholds.neMax) : null,
    reason: violations || evaluation?.reason || null,
  };
}

function printModelStability(report: ModelStabilityReport, sparklines: boolean): void {
  const current = report.current as ModelEvaluation | null;
  const head = `${report.model}  ${report.tier} ${report.role}  window ${report.windowMinutes}m`;
  out(current ? `${head}  ${current.status} at ${minute(current.at)}` : `${head}  no evaluation in the last 5 minutes (a model is evaluated every minute once it has thresholds)`);
  out();
  printTable(
    report.tasks.map((t) => taskRow(t.task, current?.tasks.find((e) => e.task === t.task), t.thresholds as TaskThresholds | null)),
    ['task', 'status', 'count', 'positives', 'calibration', 'ne', 'calibration_band', 'ne_max', 'reason'],
  );
  if (!sparklines) return;
  out();
  out(`${minute(report.from)} .. ${minute(report.to)}, ${report.tasks[0]?.points.length ?? 0} points of ${report.step / 60_000}m (${SOURCE_LABEL[report.source]})`);
  const color = Boolean(process.stdout.isTTY) && !process.env['NO_COLOR'];
  const labelWidth = Math.max(...report.tasks.map((t) => t.task.length), 4) + 2 + 'calibration'.length + 2;
  const width = Math.max(20, Math.min(120, (process.stdout.columns ?? 100) - labelWidth - 40));
  for (const task of report.tasks) {
    const thresholds = task.thresholds as TaskThresholds | null;
    const metrics: Array<['calibration' | 'ne', (p: TaskPoint) => number | null, (v: number) => boolean, string]> = [
      ['calibration', (p) => p.calibration, (v) => !!thresholds && (v < thresholds.calibration.min || v > thresholds.calibration.max), bandText(thresholds).calibration ?? 'no band'],
      ['ne', (p) => p.ne, (v) => !!thresholds && v > thresholds.neMax, bandText(thresholds).ne ?? 'no band'],
    ];
    metrics.forEach(([name, value, isOutside, band], i) => {
      const line = sparkline(task.points.map(value), width, isOutside);
      const { text, markers } = renderSparkline(line, color);
      const label = `${i === 0 ? task.task : ''}`.padEnd(labelWidth - 'calibration'.length - 2) + name.padEnd('calibration'.length) + '  ';
      const range = line.min === null ? 'no data' : `${formatValue(line.min)}..${formatValue(line.max!)}`;
      const outside = line.outsidePoints ? `, ${line.outsidePoints} point(s) outside` : '';
      out(`${label}${text}  ${range}  band ${band}${outside}`);
      if (markers) out(`${' '.repeat(label.length)}${markers}`);
    });
  }
}

function printFleet(fleet: FleetStability): void {
  const m = fleet.models;
  const at = fleet.at === null ? 'no evaluation yet (models are evaluated every minute once they have thresholds)' : `at ${minute(fleet.at)}`;
  out(`${at}: ${m.monitored} monitored model(s): ${m.stable} stable, ${m.unstable} unstable, ${m.insufficientData} with insufficient data; ${m.unmonitored} without thresholds`);
  out();
  out('UNSTABLE MODELS');
  printTable(
    fleet.unstable.flatMap((u) =>
      (u.violations.length ? u.violations : [null]).map((v) => ({
        model: u.model,
        tier: u.tier,
        role: u.role,
        team: u.team,
        task: v?.task,
        metric: v?.metric,
        value: v ? formatValue(v.value) : null,
        band: v ? formatBand(v.band) : null,
      })),
    ),
    ['model', 'tier', 'role', 'team', 'task', 'metric', 'value', 'band'],
  );
  const rollup = (title: string, rows: Rollup[]) => {
    out();
    out(title);
    printTable(
      rows.map((r) => ({ [title]: r.key, models: r.models, stable: r.stable, unstable: r.unstable, insufficient_data: r.insufficientData })),
      [title, 'models', 'stable', 'unstable', 'insufficient_data'],
    );
  };
  rollup('tier', fleet.byTier);
  rollup('team', fleet.byTeam);
}

// ---- SLOs and alerts ----

const burn = (value: number | null | undefined) => (value === null || value === undefined ? null : `${formatValue(value)}x`);

function sloRow(item: ModelSlo) {
  const r = item.report;
  const rates = r.burnRates as Record<string, number | null>;
  return {
    model: item.model,
    tier: item.tier,
    objective: pct(r.objective, 3),
    sli: pct(r.sli, 3),
    budget_left: pct(r.errorBudget.remaining, 1),
    burn_1h: burn(rates['60']),
    burn_6h: burn(rates['360']),
    burn_3d: burn(rates['4320']),
    firing: r.firing.map((f) => f.rule),
  };
}

function ago(iso: string): string {
  const ms = Date.now() - Date.parse(iso);
  if (!(ms >= 0)) return minute(iso);
  const m = Math.floor(ms / 60_000);
  if (m === 0) return `${minute(iso)} (just now)`;
  const text = m < 60 ? `${m}m` : m < 48 * 60 ? `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m` : `${Math.floor(m / 1440)}d`;
  return `${minute(iso)} (${text} ago)`;
}

function printAlerts(alerts: Alert[]): void {
  printTable(
    alerts.map((a) => ({ state: a.state, severity: a.severity, model: a.modelId, tier: a.details.tier, summary: a.summary, since: a.state === 'firing' ? ago(a.startsAt) : `${minute(a.startsAt)} .. ${minute(a.endsAt)}` })),
    ['state', 'severity', 'model', 'tier', 'summary', 'since'],
  );
  const seen = new Set<string>();
  const todo = alerts.filter((a) => a.state === 'firing' && !seen.has(`${a.modelId}\u0000${a.details.action.text}`) && seen.add(`${a.modelId}\u0000${a.details.action.text}`));
  if (!todo.length) return;
  out();
  out('WHAT TO DO');
  for (const a of todo) {
    out(`${a.modelId}: ${a.details.action.text}`);
    if (a.details.action.cli) out(`  $ ${a.details.action.cli}`);
  }
}

// ---- thresholds and ending experiments ----

function printLearned(outcome: LearnOutcome): void {
  out(`${outcome.model}: learning from the hourly history ${minute(outcome.from)} .. ${minute(outcome.to)}`);
  if (Object.keys(outcome.thresholds).length) {
    out();
    printTable(
      Object.entries(outcome.thresholds).map(([task, t]) => ({
        task,
        calibration: `${formatValue(t.calibration.min)}..${formatValue(t.calibration.max)}`,
        ne_max: formatValue(t.neMax),
        min_positives: t.minPositives,
        min_count: t.minCount,
        windows: t.basis?.windows,
        excluded: t.basis?.excludedWindows,
        calibration_median: t.basis?.calibrationMedian,
        ne_median: t.basis?.neMedian,
      })),
      ['task', 'calibration', 'ne_max', 'min_positives', 'min_count', 'windows', 'excluded', 'calibration_median', 'ne_median'],
    );
  }
  const skipped = Object.entries(outcome.skipped);
  if (skipped.length) {
    out();
    out('SKIPPED');
    for (const [task, reason] of skipped) out(`  ${task}: ${reason}`);
  }
  out();
  const change = outcome.change as ChangeRecord | null;
  if (!Object.keys(outcome.thresholds).length) out('nothing learned; the registry is unchanged');
  else if (outcome.dryRun) out(`dry run: nothing written (without --dry-run this would make ${outcome.model} version ${change?.version ?? '?'})`);
  else out(`written: ${outcome.model} is now version ${change?.version ?? '?'} (change seq ${change?.seq ?? '?'}); other tasks' thresholds are kept`);
}

/** Roles the server refuses to end: no confirmation is asked for a request that changes nothing. */
const NOT_ENDABLE = new Set(['baseline', 'holdout', 'retired']);

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

function printEnded(body: { model: Model; baseline: Model | null; changes: ChangeRecord[] }, before: Model): void {
  const { model, baseline, changes } = body;
  out(`ended ${model.id}: now ${model.role} (was ${before.role} serving ${percent(before.trafficShare)} of traffic)`);
  const baselineChanged = baseline && changes.some((c) => c.entityId === baseline.id);
  if (baseline && baselineChanged) out(`baseline ${baseline.id} now serves ${percent(baseline.trafficShare)} of traffic`);
  else if (baseline) out(`baseline ${baseline.id} unchanged at ${percent(baseline.trafficShare)} of traffic (${model.id} served none)`);
  out(`changes: ${changes.map((c) => `seq ${c.seq} (${c.entityId} version ${c.version})`).join(', ') || 'none'}`);
}

/** `modelfleet stability`, `slos`, `alerts`, `thresholds learn` and `models end-experiment`. Register after the entity commands: it adds to their `models` group. */
export function registerStabilityCommands(program: Command): void {
  withServerOptions(
    program
      .command('stability')
      .argument('[model]', 'a model id; without it, the fleet summary')
      .option('--from <time>', 'start: RFC 3339, epoch ms, or a duration before now such as 6h (default: 6 hours before --to)')
      .option('--to <time>', 'end, the same forms (default: now)')
      .option('--step <duration>', 'spacing of the points, e.g. 1m, 5m, 1h (default: about 360 points)')
      .option('--sparklines', 'draw calibration and NE over the range even when output is not a terminal')
      .option('--no-sparklines', 'leave the sparklines out on a terminal')
      .option('--json', 'print JSON')
      .description('fleet stability now, or one model: per task calibration, NE, band and status, with sparklines over time'),
  ).action(async (model: string | undefined, options: Options) => {
    const client = new ApiClient(clientOptions(options));
    if (!model) {
      if (options['from'] || options['to'] || options['step']) throw new Error('--from, --to and --step apply to one model: name it, e.g. modelfleet stability ig_feed_main_mtml:v9 --from 24h');
      const { body } = await client.request<FleetStability>('GET', '/stability');
      return options['json'] ? printJson(body) : printFleet(body);
    }
    const query = definedOnly({ from: timeArg('--from', options['from'] as string | undefined), to: timeArg('--to', options['to'] as string | undefined), step: options['step'] as string | undefined });
    const search = new URLSearchParams(query).toString();
    const { body } = await client.request<ModelStabilityReport>('GET', `${modelPath(model)}/stability${search ? `?${search}` : ''}`);
    if (options['json']) return printJson(body);
    printModelStability(body, (options['sparklines'] as boolean | undefined) ?? Boolean(process.stdout.isTTY));
  });

  withServerOptions(
    program
      .command('slos')
      .option('--team <team>', 'owner team')
      .option('--tier <tier>', 'TIER0..TIER4')
      .option('--model <id>', 'one model')
      .option('--json', 'print JSON')
      .description('stability SLOs: SLI, error budget left and burn rates per monitored model, worst budget first'),
  ).action(async (options: Options) => {
    const query = new URLSearchParams(definedOnly({ team: options['team'] as string | undefined, tier: options['tier'] as string | undefined, model: options['model'] as string | undefined })).toString();
    const { body } = await new ApiClient(clientOptions(options)).request<{ at: number | null; items: ModelSlo[] }>('GET', `/slos${query ? `?${query}` : ''}`);
    if (options['json']) return printJson(body);
    out(body.at === null ? 'no evaluation yet: models are evaluated every minute once they have thresholds' : `at ${minute(body.at)}; SLI = stable minutes / judged minutes over 28 days`);
    printTable(body.items.map(sloRow), ['model', 'tier', 'objective', 'sli', 'budget_left', 'burn_1h', 'burn_6h', 'burn_3d', 'firing']);
  });

  withServerOptions(
    program
      .command('alerts')
      .option('--state <state>', 'firing | resolved')
      .option('--model <id>', 'one model')
      .option('--limit <n>', 'at most this many (default 200)')
      .option('--json', 'print JSON')
      .description('stability alerts, firing first, with what to do about each'),
  ).action(async (options: Options) => {
    const query = new URLSearchParams(definedOnly({ state: options['state'] as string | undefined, model: options['model'] as string | undefined, limit: options['limit'] as string | undefined })).toString();
    const { body } = await new ApiClient(clientOptions(options)).request<{ items: Alert[] }>('GET', `/alerts${query ? `?${query}` : ''}`);
    if (options['json']) return printJson(body.items);
    printAlerts(body.items);
  });

  const thresholds = program.command('thresholds').description("models' stability thresholds");
  withServerOptions(
    thresholds
      .command('learn')
      .argument('<model>', 'model id')
      .option('--days <n>', 'days of hourly history to learn from (1-90)', '14')
      .option('--dry-run', 'show what would be written without writing it')
      .option('--json', 'print JSON')
      .description("learn a model's calibration band, NE ceiling and volume minimums from its healthy history, and write them with their basis"),
  ).action(async (model: string, options: Options) => {
    const days = Number(options['days']);
    if (!Number.isInteger(days) || days < 1 || days > 90) throw new Error(`--days '${String(options['days'])}' is not a whole number of days from 1 to 90`);
    const { body } = await new ApiClient(clientOptions(options)).request<LearnOutcome>('POST', `${modelPath(model)}/thresholds/learn`, { body: { days, dryRun: Boolean(options['dryRun']) } });
    if (options['json']) return printJson(body);
    printLearned(body);
  });

  // `models` is the entity group; ending an experiment belongs with the model's other verbs.
  const models = program.commands.find((c) => c.name() === 'models') ?? program.command('models').description('models in the registry');
  withServerOptions(
    models
      .command('end-experiment')
      .argument('<id>', 'the experiment, shadow or candidate to end')
      .option('--reason <text>', 'why; recorded in the history')
      .option('--yes', 'do not ask for confirmation')
      .option('--json', 'print JSON')
      .description("on-call's safe first response: retire an experiment and move its traffic back to the baseline, in one recorded change"),
  ).action(async (id: string, options: Options) => {
    const client = new ApiClient(clientOptions(options));
    const { body: before } = await client.request<Model>('GET', modelPath(id));
    if (!options['yes'] && !NOT_ENDABLE.has(before.role)) {
      if (!process.stdin.isTTY) {
        throw new Error(`not ending ${id} without confirmation: stdin is not a terminal, so pass --yes to end it (its ${percent(before.trafficShare)} of traffic goes back to the baseline)`);
      }
      const yes = await confirm(`End ${before.role} ${id}? Its ${percent(before.trafficShare)} of traffic goes back to the baseline. [y/N] `);
      if (!yes) {
        process.stderr.write('not ended\n');
        process.exitCode = 1;
        return;
      }
    }
    const headers: Record<string, string> = options['reason'] ? { 'x-change-reason': encodeURIComponent(String(options['reason'])) } : {};
    const { body } = await client.request<{ model: Model; baseline: Model | null; changes: ChangeRecord[] }>('POST', `${modelPath(id)}/end-experiment`, { headers });
    if (options['json']) return printJson(body);
    printEnded(body, before);
  });
}

const SOURCE_LABEL: Record<'evaluations' | 'buckets' | 'mixed', string> = {
  evaluations: 'rolling-window verdicts',
  buckets: 'raw event sums, unjudged',
  mixed: 'rolling-window verdicts where judged, raw event sums elsewhere',
};
