import { createHash } from 'node:crypto';
import type { Model } from '../../registry/model.js';
import type { ModelType } from '../../registry/modelType.js';
import { objectiveFor, type SloObjectives } from '../../stability/slo.js';
import type { SnapshotEntry } from '../../stability/registrySnapshot.js';
import { promDuration, selector } from './promql.js';
import { RECORDED, SOURCE_METRICS, judgedWindowMinutes, monitoredByType } from './prometheusRules.js';

/** The dashboard schema the generated JSON follows (Grafana 10.x). */
export const GRAFANA_SCHEMA_VERSION = 39;

export interface GrafanaPanel {
  id: number;
  type: 'timeseries' | 'stat' | 'table' | 'row';
  title: string;
  description?: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type: 'prometheus'; uid: string };
  targets?: Array<{ refId: string; expr: string; legendFormat?: string; instant?: boolean; format?: 'time_series' | 'table'; datasource: { type: 'prometheus'; uid: string } }>;
  fieldConfig?: { defaults: Record<string, unknown>; overrides: unknown[] };
  options?: Record<string, unknown>;
  collapsed?: boolean;
  panels?: GrafanaPanel[];
}

/** A Grafana dashboard, importable as is (Dashboards > Import) or through file provisioning. */
export interface GrafanaDashboard {
  uid: string;
  title: string;
  description: string;
  tags: string[];
  schemaVersion: number;
  version: number;
  editable: boolean;
  graphTooltip: number;
  time: { from: string; to: string };
  refresh: string;
  timezone: string;
  templating: { list: Array<Record<string, unknown>> };
  annotations: { list: unknown[] };
  links: Array<Record<string, unknown>>;
  panels: GrafanaPanel[];
}

/** One generated dashboard with the file name it is written as under `grafana/`. */
export interface NamedDashboard {
  file: string;
  dashboard: GrafanaDashboard;
}

export interface GrafanaOptions {
  objectives?: SloObjectives;
}

const DATASOURCE = { type: 'prometheus' as const, uid: '${datasource}' };

/**
 * A dashboard uid from its name: the same name always gets the same uid, so a regenerated dashboard
 * replaces the old one instead of adding a copy, and links between dashboards keep working.
 */
export function dashboardUid(name: string): string {
  const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 26);
  return `mf-${slug}-${createHash('sha256').update(name).digest('hex').slice(0, 10)}`;
}

const slugOf = (name: string): string => name.toLowerCase().replace(/[^a-z0-9_-]+/g, '-');

/** Lays panels out left to right in rows of 24 columns, numbering them. */
class Layout {
  readonly panels: GrafanaPanel[] = [];
  private x = 0;
  private y = 0;
  private rowHeight = 0;

  add(panel: Omit<GrafanaPanel, 'id' | 'gridPos' | 'datasource'>, w: number, h = 8): void {
    if (this.x + w > 24) this.newLine();
    this.panels.push({ id: this.panels.length + 1, ...panel, gridPos: { h, w, x: this.x, y: this.y }, ...(panel.type === 'row' ? {} : { datasource: DATASOURCE }) });
    this.x += w;
    this.rowHeight = Math.max(this.rowHeight, h);
  }

  row(title: string): void {
    this.newLine();
    this.add({ type: 'row', title, collapsed: false, panels: [] }, 24, 1);
    this.newLine();
  }

  private newLine(): void {
    this.y += this.rowHeight;
    this.x = 0;
    this.rowHeight = 0;
  }
}

const target = (expr: string, legendFormat: string, refId = 'A', extra: { instant?: boolean; format?: 'time_series' | 'table' } = {}) => ({ refId, expr, legendFormat, datasource: DATASOURCE, ...extra });

const timeseries = (title: string, targets: ReturnType<typeof target>[], defaults: Record<string, unknown> = {}, description?: string): Omit<GrafanaPanel, 'id' | 'gridPos' | 'datasource'> => ({
  type: 'timeseries',
  title,
  ...(description ? { description } : {}),
  targets,
  fieldConfig: { defaults: { custom: { lineWidth: 1, fillOpacity: 0, spanNulls: false }, ...defaults }, overrides: [] },
  options: { legend: { displayMode: 'table', placement: 'right', calcs: ['lastNotNull'] }, tooltip: { mode: 'multi', sort: 'desc' } },
});

const stat = (title: string, expr: string, defaults: Record<string, unknown> = {}): Omit<GrafanaPanel, 'id' | 'gridPos' | 'datasource'> => ({
  type: 'stat',
  title,
  targets: [target(expr, '', 'A', { instant: true })],
  fieldConfig: { defaults, overrides: [] },
  options: { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'value', graphMode: 'none' },
});

const table = (title: string, expr: string, description: string): Omit<GrafanaPanel, 'id' | 'gridPos' | 'datasource'> => ({
  type: 'table',
  title,
  description,
  targets: [target(expr, '', 'A', { instant: true, format: 'table' })],
  fieldConfig: { defaults: {}, overrides: [] },
  options: { showHeader: true },
});

const redAbove = (value: number) => ({ thresholds: { mode: 'absolute', steps: [{ color: 'green', value: null }, { color: 'red', value }] } });

function dashboard(name: string, title: string, description: string, tags: string[], panels: GrafanaPanel[], variables: Array<Record<string, unknown>> = []): GrafanaDashboard {
  return {
    uid: dashboardUid(name),
    title,
    description,
    tags: ['modelfleet', ...tags],
    schemaVersion: GRAFANA_SCHEMA_VERSION,
    version: 1,
    editable: true,
    graphTooltip: 1,
    time: { from: 'now-6h', to: 'now' },
    refresh: '1m',
    timezone: 'browser',
    templating: {
      list: [{ name: 'datasource', label: 'Prometheus', type: 'datasource', query: 'prometheus', current: {}, hide: 0, refresh: 1, regex: '', options: [] }, ...variables],
    },
    annotations: { list: [] },
    links: [{ title: 'modelfleet', type: 'dashboards', tags: ['modelfleet'], asDropdown: true, includeVars: false, keepTime: true }],
    panels,
  };
}

const STABLE_1H = RECORDED.modelStable('1h');

function fleetOverview(): GrafanaDashboard {
  const l = new Layout();
  l.add(stat('Monitored models', `count(${STABLE_1H}) or vector(0)`), 6, 4);
  l.add(stat('Unstable models (1h)', `count(${STABLE_1H} == 0) or vector(0)`, redAbove(1)), 6, 4);
  l.add(stat('Stable share (1h)', `avg(${STABLE_1H})`, { unit: 'percentunit', min: 0, max: 1 }), 6, 4);
  l.add(stat('Models burning budget > 1x (1h)', `count(${RECORDED.modelBurnRate('1h')} > 1) or vector(0)`, redAbove(1)), 6, 4);
  l.row('Stability by surface and funnel stage');
  l.add(timeseries('Stable share by surface (1h window)', [target(`avg by (surface) (${STABLE_1H})`, '{{surface}}')], { unit: 'percentunit', min: 0, max: 1 }), 12);
  l.add(timeseries('Stable share by funnel stage (1h window)', [target(`avg by (funnel_stage) (${STABLE_1H})`, '{{funnel_stage}}')], { unit: 'percentunit', min: 0, max: 1 }), 12);
  l.add(timeseries('Unstable models by team', [target(`count by (team) (${STABLE_1H} == 0)`, '{{team}}')], { min: 0, decimals: 0 }), 12);
  l.add(
    table('Unstable models now', `${SOURCE_METRICS.modelStable} == 0`, "The server's own verdicts (modelfleet_model_stable), with tier, team and role: experiments can be ended, baselines page their owner."),
    12,
  );
  l.row('SLO burn rates');
  l.add(timeseries('Fastest burn (1h), top 10', [target(`topk(10, ${RECORDED.modelBurnRate('1h')})`, '{{model}}')], { min: 0 }, 'Above 14.4 on both 1h and 5m pages (TIER0-TIER2).'), 12);
  l.add(timeseries('Budget spent (28d burn rate), top 10', [target(`topk(10, ${RECORDED.modelBurnRate('28d')})`, '{{model}}')], { min: 0, ...redAbove(1) }, 'Above 1 the 28-day error budget is overspent.'), 12);
  return dashboard('modelfleet-fleet-overview', 'modelfleet / fleet overview', 'Stability of every monitored model by surface and funnel stage, the unstable models, and SLO burn rates. Generated from the registry.', ['fleet'], l.panels);
}

function surfaceDashboard(surface: string, types: ModelType[]): GrafanaDashboard {
  const sel = `{${selector({ surface })}}`;
  const typeSel = `{${selector({ model_type: types.map((t) => t.name) })}}`;
  const l = new Layout();
  l.add(stat('Monitored models', `count(${STABLE_1H}${sel}) or vector(0)`), 8, 4);
  l.add(stat('Unstable models (1h)', `count(${STABLE_1H}${sel} == 0) or vector(0)`, redAbove(1)), 8, 4);
  l.add(stat('Model types', String(types.length)), 8, 4);
  l.add(timeseries('Stable share by model type (1h window)', [target(`avg by (model_type) (${STABLE_1H}${sel})`, '{{model_type}}')], { unit: 'percentunit', min: 0, max: 1 }), 12);
  l.add(timeseries('Stable share by funnel stage (1h window)', [target(`avg by (funnel_stage) (${STABLE_1H}${sel})`, '{{funnel_stage}}')], { unit: 'percentunit', min: 0, max: 1 }), 12);
  l.add(table('Unstable models now', `${SOURCE_METRICS.modelStable}${typeSel} == 0`, "The server's own verdicts, with tier, team and role."), 12);
  l.add(timeseries('Burn rate (1h)', [target(`${RECORDED.modelBurnRate('1h')}${sel}`, '{{model}}')], { min: 0 }), 12);
  l.add(timeseries('Predictions per second by model type', [target(`sum by (model_type) (${RECORDED.taskPredictionRate}${typeSel})`, '{{model_type}}')], { unit: 'reqps', min: 0 }), 24);
  return dashboard(`modelfleet-surface-${surface}`, `modelfleet / surface ${surface}`, `Stability of the monitored models of surface ${surface}: ${types.map((t) => t.name).join(', ')}. Generated from the registry.`, ['surface'], l.panels);
}

function modelTypeDashboard(type: ModelType, models: Model[], options: GrafanaOptions): GrafanaDashboard {
  const w = promDuration(judgedWindowMinutes(type));
  const modelVar = { model_type: type.name };
  const sel = (extra: Record<string, string> = {}) => `{${selector({ ...modelVar, ...extra })},model=~"$model"}`;
  const l = new Layout();
  const tiers = [...new Set(models.map((m) => `${m.effectiveCriticality} ${(objectiveFor(m.effectiveCriticality, options.objectives) * 100).toPrecision(4)}%`))].join(', ');
  l.add(timeseries(`Stable (${w} window): 1 stable, 0 unstable`, [target(`${RECORDED.modelStable(w)}${sel()}`, '{{model}}')], { min: 0, max: 1, decimals: 0 }), 12);
  l.add(timeseries(`SLI: share of judged minutes stable (28d); objective ${tiers}`, [target(`${RECORDED.modelSli('28d')}${sel()}`, '{{model}}'), target(`${RECORDED.modelObjective}${sel()}`, '{{model}} objective', 'B')], { unit: 'percentunit', max: 1 }), 12);
  l.add(
    timeseries('Burn rates', ['5m', '1h', '6h', '3d'].map((bw, i) => target(`${RECORDED.modelBurnRate(bw)}${sel()}`, `{{model}} ${bw}`, String.fromCharCode(65 + i))), { min: 0 }, 'Pages above 14.4 (1h and 5m) or 6 (6h and 30m); tickets above 1 (3d and 6h).'),
    12,
  );
  l.add(timeseries('Predictions per second', [target(`sum by (model) (${RECORDED.taskPredictionRate}${sel()})`, '{{model}}')], { unit: 'reqps', min: 0 }), 12);
  for (const task of type.tasks) {
    const t = { task: task.name };
    l.row(`${task.name}${task.description ? `: ${task.description}` : ''}`);
    l.add(
      timeseries(
        `${task.name} calibration (${w}) and band`,
        [
          target(`${RECORDED.taskCalibration(w)}${sel(t)}`, '{{model}}'),
          target(`max by (model) (${SOURCE_METRICS.calibrationMin}${sel(t)})`, '{{model}} min', 'B'),
          target(`min by (model) (${SOURCE_METRICS.calibrationMax}${sel(t)})`, '{{model}} max', 'C'),
        ],
        { decimals: 3 },
        'Sum of weighted predictions over sum of weighted labels; healthy near 1, judged against the model\'s [min, max].',
      ),
      12,
    );
    l.add(
      timeseries(
        `${task.name} normalized entropy (${w}) and ceiling`,
        [target(`${RECORDED.taskNe(w)}${sel(t)}`, '{{model}}'), target(`min by (model) (${SOURCE_METRICS.neMax}${sel(t)})`, '{{model}} ne_max', 'B')],
        { decimals: 3, min: 0 },
        'Mean log loss over the entropy of the observed positive rate; lower is better, 1 is no better than the average.',
      ),
      12,
    );
  }
  const modelVariable = {
    name: 'model',
    label: 'model',
    type: 'query',
    datasource: DATASOURCE,
    query: { query: `label_values(${RECORDED.modelStable(w)}{${selector(modelVar)}}, model)`, refId: 'models' },
    definition: `label_values(${RECORDED.modelStable(w)}{${selector(modelVar)}}, model)`,
    refresh: 2,
    multi: true,
    includeAll: true,
    allValue: '.+',
    current: {},
    hide: 0,
    options: [],
    sort: 1,
  };
  const parts = [type.parsed.app, type.parsed.surface, ...type.parsed.subsurfaces, type.parsed.architecture].join(' / ');
  return dashboard(
    `modelfleet-model-type-${type.name}`,
    `modelfleet / ${type.name}`,
    `${type.description} (${parts}; ${type.funnelStage.replace(/_/g, ' ')}; ${type.criticality}; team ${type.ownerTeam}, on-call ${type.oncall.rotation}). Models: ${models.map((m) => `${m.id} (${m.role})`).join(', ')}. Generated from the registry.`,
    ['model-type', type.parsed.surface],
    l.panels,
    [modelVariable],
  );
}

/**
 * The dashboards of the monitored fleet: a fleet overview, one per surface and one per model type
 * (calibration and NE per task against their bands, stability, SLO budget and traffic).
 */
export function grafanaDashboards(entries: Iterable<SnapshotEntry>, options: GrafanaOptions = {}): NamedDashboard[] {
  const byType = monitoredByType(entries);
  const surfaces = new Map<string, ModelType[]>();
  for (const { type } of byType) {
    const list = surfaces.get(type.parsed.surface) ?? [];
    list.push(type);
    surfaces.set(type.parsed.surface, list);
  }
  return [
    { file: 'fleet-overview.json', dashboard: fleetOverview() },
    ...[...surfaces.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([surface, types]) => ({ file: `surface-${slugOf(surface)}.json`, dashboard: surfaceDashboard(surface, types) })),
    ...byType.map(({ type, models }) => ({ file: `model-type-${slugOf(type.name)}.json`, dashboard: modelTypeDashboard(type, models, options) })),
  ];
}
