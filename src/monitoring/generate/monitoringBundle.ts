import { createHash } from 'node:crypto';
import { notFound } from '../../core/errors.js';
import type { BusinessHours } from '../../alerting/routing.js';
import type { SloObjectives } from '../../stability/slo.js';
import type { RegistrySnapshot } from '../../stability/registrySnapshot.js';
import { type CoverageReport, monitoringCoverage } from '../coverage.js';
import { type ReceiverName, PLACEHOLDER_RECEIVER_URLS, ReceiverName as ReceiverNames, alertmanagerConfig, alertmanagerConfigYaml } from './alertmanagerConfig.js';
import { grafanaDashboards } from './grafanaDashboards.js';
import { prometheusRules, prometheusRulesYaml } from './prometheusRules.js';

/** What the generated files depend on besides the registry. */
export interface MonitoringOptions {
  /** The console and API origin alert annotations link to. */
  baseUrl: string;
  /** SLO objectives per tier (the server's stability config). */
  objectives?: SloObjectives;
  /** When TIER2 pages (the server's stability config). */
  businessHours?: BusinessHours;
  /** Alertmanager webhook URLs per receiver; left out: a placeholder. */
  receivers?: Partial<Record<ReceiverName, readonly string[]>>;
}

export const MONITORING_FILE_TYPES = {
  yaml: 'application/yaml; charset=utf-8',
  json: 'application/json; charset=utf-8',
} as const;

/** One generated file. */
export interface MonitoringFile {
  /** Relative path, e.g. `prometheus/rules.yml`, `grafana/fleet-overview.json`. */
  path: string;
  contentType: string;
  /** sha256 of the content, hex. */
  sha256: string;
  bytes: number;
  content: string;
}

/** Every generated file for one registry state. */
export interface MonitoringBundle {
  /** The registry change sequence number the files were built from. */
  seq: number;
  /** sha256 over every file's path and hash: changes exactly when some file does. */
  hash: string;
  files: MonitoringFile[];
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

function file(path: string, content: string): MonitoringFile {
  return { path, contentType: path.endsWith('.json') ? MONITORING_FILE_TYPES.json : MONITORING_FILE_TYPES.yaml, sha256: sha256(content), bytes: Buffer.byteLength(content), content };
}

/**
 * Builds `prometheus/rules.yml`, `alertmanager/alertmanager.yml` and `grafana/*.json` from a registry
 * snapshot. Deterministic: the same registry and options give byte-identical files, so the hashes only
 * move when something a file says does.
 */
export function buildMonitoringBundle(snapshot: RegistrySnapshot, options: MonitoringOptions): MonitoringBundle {
  const entries = [...snapshot.entries.values()];
  const files = [
    file('prometheus/rules.yml', prometheusRulesYaml(prometheusRules(entries, { baseUrl: options.baseUrl, ...(options.objectives ? { objectives: options.objectives } : {}) }))),
    file('alertmanager/alertmanager.yml', alertmanagerConfigYaml(alertmanagerConfig(alertmanagerOptions(options)))),
    ...grafanaDashboards(entries, options.objectives ? { objectives: options.objectives } : {}).map((d) => file(`grafana/${d.file}`, `${JSON.stringify(d.dashboard, null, 2)}\n`)),
  ];
  return { seq: snapshot.seq, hash: sha256(files.map((f) => `${f.path}\u0000${f.sha256}\n`).join('')), files };
}

const alertmanagerOptions = (options: MonitoringOptions) => ({
  ...(options.receivers ? { receivers: options.receivers } : {}),
  ...(options.businessHours ? { businessHours: options.businessHours } : {}),
});

/** Where the service reads the registry from: {@link RegistrySnapshotSource} in the server. */
export interface SnapshotSource {
  current(): Promise<RegistrySnapshot>;
}

/**
 * The generated monitoring files of the live registry, rebuilt when the registry changes (a new
 * snapshot sequence number) and cached in between; and the coverage report.
 */
export class MonitoringBundleService {
  private cached: { seq: number; bundle: MonitoringBundle } | null = null;

  constructor(
    private readonly snapshots: SnapshotSource,
    private options: MonitoringOptions,
  ) {}

  /** Points alert links at the server's address once it is known; the next read rebuilds. */
  useBaseUrl(baseUrl: string): void {
    this.options = { ...this.options, baseUrl };
    this.cached = null;
  }

  async bundle(): Promise<MonitoringBundle> {
    const snapshot = await this.snapshots.current();
    if (this.cached?.seq !== snapshot.seq) this.cached = { seq: snapshot.seq, bundle: buildMonitoringBundle(snapshot, this.options) };
    return this.cached.bundle;
  }

  /** One file by its relative path; not_found names the files there are. */
  async file(path: string): Promise<MonitoringFile> {
    const bundle = await this.bundle();
    const found = bundle.files.find((f) => f.path === path);
    if (!found) throw notFound(`no generated monitoring file '${path}': the files are ${bundle.files.map((f) => f.path).join(', ')} (GET /api/v1/monitoring/files lists them)`);
    return found;
  }

  async coverage(): Promise<CoverageReport> {
    const snapshot = await this.snapshots.current();
    const placeholders = ReceiverNames.filter((name) => this.options.receivers?.[name] === undefined);
    const notes = placeholders.length
      ? [
          `receiver${placeholders.length === 1 ? '' : 's'} ${placeholders.join(', ')} still point${placeholders.length === 1 ? 's' : ''} at placeholder URLs (${placeholders.map((n) => PLACEHOLDER_RECEIVER_URLS[n]).join(', ')}): set real webhook URLs before relying on the generated Alertmanager config (docs/monitoring.md)`,
        ]
      : [];
    return monitoringCoverage(snapshot.seq, snapshot.entries.values(), alertmanagerConfig(alertmanagerOptions(this.options)), notes);
  }
}
