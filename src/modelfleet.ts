import { dirname, resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import pino, { type Logger } from 'pino';
import type { z } from 'zod';
import { createApi } from './api/app.js';
import { TokenService } from './auth/tokenService.js';
import { RegistryService, systemClock, type Clock } from './registry/registryService.js';
import { DEFAULT_DATABASE_URL, openDatabase, type DatabaseHandle } from './store/database.js';
import { kyselyRegistryStore } from './store/registryRepository.js';
import { kyselyTokenRepository } from './store/tokenRepository.js';
import { Registry as MetricsRegistry, collectDefaultMetrics } from 'prom-client';
import { IngestMetrics } from './monitoring/ingestMetrics.js';
import { StabilityMetrics } from './monitoring/stabilityMetrics.js';
import { LaunchMetrics } from './monitoring/launchMetrics.js';
import { DEFAULT_INGEST_OPTIONS, IngestionService, type IngestOptions } from './stability/ingestion.js';
import { RegistrySnapshotSource } from './stability/registrySnapshot.js';
import { kyselyStabilityStore } from './store/stabilityRepository.js';
import type { StabilityStore } from './stability/stabilityStore.js';
import { StabilityService } from './stability/stabilityService.js';
import { StabilityConfigSchema, type StabilityConfig } from './alerting/stabilityConfig.js';
import { DEFAULT_RETENTION, StabilityMonitor } from './alerting/stabilityMonitor.js';
import type { AlertStore } from './alerting/alertStore.js';
import { kyselyAlertStore } from './store/alertRepository.js';
import { PostgresAdvisoryLock } from './store/advisoryLock.js';
import { createNotifiers } from './alerting/notifiers/createNotifiers.js';
import { HOUR_MS } from './stability/eventBatch.js';
import { RecordingService } from './capacity/recordingService.js';
import { CapacityService } from './capacity/capacityService.js';
import { kyselyRecordingStore } from './store/recordingRepository.js';
import { CapacityEstimateJobs } from './capacity/estimateJobs.js';
import { kyselyEstimateJobStore } from './store/estimateJobRepository.js';
import { QuotaService } from './launch/quotaService.js';
import { LaunchEngine, type LaunchRuntime } from './launch/launchEngine.js';
import { LaunchService } from './launch/launchService.js';
import { kyselyLaunchStore } from './store/launchRepository.js';
import type { Executor, ExecutorKind } from './serving/executor.js';
import { SimulatedExecutor } from './serving/simulatedExecutor.js';
import { RegistryTrafficView } from './serving/registryTrafficView.js';
import { LocalExecutor, type LocalExecutorOptions } from './serving/localExecutor.js';
import { KubernetesExecutor, type KubernetesExecutorOptions } from './serving/kubernetesExecutor.js';
import { kyselyReplicaStore } from './store/replicaRepository.js';
import { kyselyRouterTrafficStore } from './store/routerTrafficRepository.js';
import { measureReplicaCapacity } from './capacity/measureReplica.js';
import { Router } from './serving/router.js';
import { RegistryAllocationSource } from './serving/allocationSource.js';
import { RouterTraffic } from './serving/routerTraffic.js';
import { TrafficSampler } from './serving/trafficSampler.js';
import { MonitoringBundleService } from './monitoring/generate/monitoringBundle.js';
import type { ReceiverName } from './monitoring/generate/alertmanagerConfig.js';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { EventPublisher } from './stream/eventPublisher.js';
import type { EventStreamSettings } from './stream/eventStream.js';

export interface ModelfleetOptions {
  db?: string;
  /** Where the admin token file and recordings go; defaults next to the SQLite file, else ./.modelfleet. */
  dataDir?: string;
  adminToken?: string | undefined;
  clock?: Clock;
  logger?: Logger;
  ingest?: Partial<IngestOptions>;
  /** Stability and alerting settings (objectives, business hours, notifiers, retention); defaults when omitted. */
  stability?: z.input<typeof StabilityConfigSchema>;
  launch?: LaunchOptions;
  /** Webhook URLs of the generated Alertmanager config's receivers; left out: placeholders (docs/monitoring.md). */
  monitoring?: { receivers?: Partial<Record<ReceiverName, readonly string[]>> };
  /**
   * Ingest through NATS JetStream: accepted events are published to the event stream for the workers
   * (`modelfleet worker`) to aggregate, instead of being written here. `maxPending` is the workers'
   * backlog above which requests are refused with 503 and Retry-After (default 50,000).
   */
  stream?: { natsUrl: string; settings?: Partial<EventStreamSettings>; maxPending?: number };
}

/** How launches run on this server. */
export interface LaunchOptions {
  /** Advance launches on a timer (default); tests that move a manual clock call `launchEngine.tick()` themselves. */
  autoStart?: boolean;
  tickMs?: number;
  /** How long replicas may take to become ready before a launch gives up on them. Default 120 s. */
  readyTimeoutMs?: number;
  /** Leave local replicas running when the server closes, for the next start to adopt (default: stop them). */
  keepReplicasOnClose?: boolean;
  /** Real model-server processes on loopback ports; `false` turns them off. */
  local?: false | Partial<Omit<LocalExecutorOptions, 'store' | 'logger'>>;
  /** A Kubernetes cluster: Deployments per model, traffic weights on a Gateway API HTTPRoute; off unless given. */
  kubernetes?: KubernetesExecutorOptions;
  /** The simulated fleet (on this server's clock); `false` turns it off. */
  simulated?:
    | false
    | {
        startupMs?: number;
        /** A type's demand; default: derived from its baseline's sizing. */
        demandQps?: (modelType: string) => number;
        faultErrorRate?: (modelId: string) => number;
      };
}

export interface Modelfleet {
  database: DatabaseHandle;
  registry: RegistryService;
  tokens: TokenService;
  logger: Logger;
  dataDir: string;
  clock: Clock;
  stabilityStore: StabilityStore;
  snapshots: RegistrySnapshotSource;
  ingestion: IngestionService;
  /** Set when ingestion publishes to the event stream (`stream` option). */
  eventPublisher: EventPublisher | null;
  metrics: MetricsRegistry;
  ingestMetrics: IngestMetrics;
  /** Prediction-quality counters, thresholds and verdicts on `metrics`. */
  stabilityMetrics: StabilityMetrics;
  stability: StabilityService;
  alerts: AlertStore;
  monitor: StabilityMonitor;
  stabilityConfig: StabilityConfig;
  recordings: RecordingService;
  capacity: CapacityService;
  estimates: CapacityEstimateJobs;
  /** Teams' virtual pools (quota, used, reserved, free). */
  quotas: QuotaService;
  launches: LaunchService;
  launchEngine: LaunchEngine;
  /** Prometheus rules, Alertmanager config and Grafana dashboards generated from the registry, and coverage. */
  monitoring: MonitoringBundleService;
  executors: Partial<Record<ExecutorKind, Executor>>;
  /** Set when this start issued a new admin token: print it once. */
  issuedAdminToken: { token: string; file: string } | null;
  close(): Promise<void>;
}

export function defaultDataDir(dbUrl: string): string {
  if (dbUrl.startsWith('sqlite:') && dbUrl !== 'sqlite::memory:') return dirname(resolve(dbUrl.slice('sqlite:'.length)));
  return resolve('.modelfleet');
}

/** The composition root: opens the store and wires the services. Everything else receives its parts. */
export async function createModelfleet(options: ModelfleetOptions = {}): Promise<Modelfleet> {
  const url = options.db ?? DEFAULT_DATABASE_URL;
  const logger = options.logger ?? pino({ level: process.env['MODELFLEET_LOG_LEVEL'] ?? 'info' });
  const database = await openDatabase(url);
  const store = kyselyRegistryStore(database);
  const clock = options.clock ?? systemClock;
  const registry = new RegistryService(store, clock);
  const tokens = new TokenService(kyselyTokenRepository(database.db, database.dialect), store, () => clock.now());
  const dataDir = options.dataDir ?? defaultDataDir(url);
  const boot = await tokens.bootstrapAdmin({ envToken: options.adminToken, dataDir });
  const stabilityStore = kyselyStabilityStore(database);
  const snapshots = new RegistrySnapshotSource(registry);
  const stabilityConfig = StabilityConfigSchema.parse(options.stability ?? {});
  const metrics = new MetricsRegistry();
  collectDefaultMetrics({ register: metrics, prefix: 'modelfleet_' });
  let eventPublisher: EventPublisher | null = null;
  if (options.stream) {
    const { natsUrl, settings, maxPending } = options.stream;
    try {
      eventPublisher = await EventPublisher.start(natsUrl, { metrics, ...(settings ? { settings } : {}), ...(maxPending !== undefined ? { maxPending } : {}) });
    } catch (error) {
      snapshots.close();
      await database.close();
      throw error;
    }
  }
  const ingestion = new IngestionService(stabilityStore, snapshots, clock, { ...DEFAULT_INGEST_OPTIONS, latenessMs: stabilityConfig.latenessMinutes * 60_000, ...options.ingest }, eventPublisher);
  const stability = new StabilityService(stabilityStore, snapshots, registry, clock, stabilityConfig.objectives, stabilityConfig.retention.minuteBucketsDays * 24 * HOUR_MS);
  const alerts = kyselyAlertStore(database.db);
  const recordings = new RecordingService(kyselyRecordingStore(database.db), registry, dataDir, clock);
  const capacity = new CapacityService(registry);
  const estimates = new CapacityEstimateJobs(kyselyEstimateJobStore(database.db), recordings, registry, clock, logger);
  await estimates.recover();
  const quotas = new QuotaService(registry);
  const launchOptions = options.launch ?? {};
  const runtimes: Partial<Record<ExecutorKind, LaunchRuntime>> = {};
  const executors: Partial<Record<ExecutorKind, Executor>> = {};
  const trafficView = new RegistryTrafficView(snapshots);
  if (launchOptions.simulated !== false) {
    const sim = launchOptions.simulated ?? {};
    const simulated = new SimulatedExecutor({
      clock,
      ...(sim.startupMs !== undefined ? { startupMs: sim.startupMs } : {}),
      demandQps: (type) => sim.demandQps?.(type) ?? trafficView.demandQps(type),
      trafficShare: (id) => trafficView.trafficShare(id),
      capacityQps: (id) => trafficView.capacityQps(id),
      faultErrorRate: (id) => sim.faultErrorRate?.(id) ?? 0,
    });
    executors.simulated = simulated;
    runtimes.simulated = { executor: simulated, stats: simulated };
  }
  if (launchOptions.local !== false) {
    const local = new LocalExecutor({ store: kyselyReplicaStore(database.db), logsDir: join(dataDir, 'replicas'), logger, ...launchOptions.local });
    // Replicas a previous run of this server left running are adopted (or replaced), never leaked.
    await local.recover();
    executors.local = local;
    runtimes.local = {
      executor: local,
      stats: kyselyRouterTrafficStore(database.db),
      measureCapacity: (candidate, stoppers) => measureReplicaCapacity({ executor: local, recordings, candidate, stoppers, ...(launchOptions.readyTimeoutMs ? { readyTimeoutMs: launchOptions.readyTimeoutMs } : {}) }),
    };
  }
  if (launchOptions.kubernetes) {
    const kubernetes = new KubernetesExecutor({ logger, ...launchOptions.kubernetes });
    executors.kubernetes = kubernetes;
    // Gates read what routers in front of the cluster record; without them a step is judged on no traffic and says so.
    runtimes.kubernetes = { executor: kubernetes, stats: kyselyRouterTrafficStore(database.db) };
  }
  const launchStore = kyselyLaunchStore(database.db);
  // The pools read the launches' reservations; the engine reads the pools: the quota service learns of the launches last.
  const launchEngine = new LaunchEngine({
    store: launchStore,
    registry,
    runtimes,
    pool: async (team, launchId) => {
      const pool = await quotas.pool(team, { exceptLaunch: launchId });
      return { quota: pool.quota, free: pool.free, policy: pool.launchPolicy };
    },
    stability: async (modelId) => {
      try {
        const report = await stability.modelStability(modelId, { from: clock.now().getTime() - 10 * 60_000 });
        const status = report.current?.status;
        return status === 'stable' || status === 'unstable' || status === 'insufficient_data' ? status : null;
      } catch {
        return null;
      }
    },
    // Only the simulated fleet reads the registry through the view; without it there is nothing to refresh.
    ...(executors.simulated ? { beforeTick: () => trafficView.refresh() } : {}),
    clock,
    logger,
    ...(launchOptions.readyTimeoutMs !== undefined ? { readyTimeoutMs: launchOptions.readyTimeoutMs } : {}),
  });
  const launches = new LaunchService(launchStore, registry, launchEngine, executors, clock);
  quotas.useReservations(launches);
  if (launchOptions.autoStart !== false) launchEngine.start(launchOptions.tickMs ?? 500);
  const monitor = createMonitor({ url, database, stabilityStore, alerts, snapshots, stability, clock, logger, stabilityConfig });
  const ingestMetrics = new IngestMetrics(metrics);
  const monitoring = new MonitoringBundleService(snapshots, {
    baseUrl: stabilityConfig.baseUrl ?? 'http://127.0.0.1:8080',
    objectives: stabilityConfig.objectives,
    businessHours: stabilityConfig.businessHours,
    receivers: { ...stabilityConfig.alertmanagerReceivers, ...options.monitoring?.receivers },
  });
  const stabilityMetrics = new StabilityMetrics(metrics, snapshots, clock);
  ingestion.onCommitted((buckets) => stabilityMetrics.recordCommitted(buckets));
  monitor.onEvaluated((evaluations, at) => stabilityMetrics.recordEvaluations(evaluations, at));
  new LaunchMetrics(metrics, launches);
  return {
    database,
    registry,
    tokens,
    logger,
    dataDir,
    clock,
    stabilityStore,
    snapshots,
    ingestion,
    eventPublisher,
    metrics,
    ingestMetrics,
    stabilityMetrics,
    stability,
    alerts,
    monitor,
    stabilityConfig,
    recordings,
    capacity,
    estimates,
    quotas,
    launches,
    launchEngine,
    monitoring,
    executors,
    issuedAdminToken: boot.token ? { token: boot.token, file: boot.file! } : null,
    close: async () => {
      await launchEngine.stop();
      for (const executor of Object.values(executors)) await executor.close({ keepReplicas: launchOptions.keepReplicasOnClose ?? false });
      await monitor.stop();
      await estimates.idle();
      snapshots.close();
      await eventPublisher?.close();
      await database.close();
    },
  };
}

/**
 * The stability monitor over a wired store. Processes sharing a PostgreSQL database (servers and
 * workers alike) let the holder of an advisory lock evaluate; on SQLite the store's lease decides.
 */
function createMonitor(parts: {
  url: string;
  database: DatabaseHandle;
  stabilityStore: StabilityStore;
  alerts: AlertStore;
  snapshots: RegistrySnapshotSource;
  stability: StabilityService;
  clock: Clock;
  logger: Logger;
  stabilityConfig: StabilityConfig;
}): StabilityMonitor {
  const { stabilityConfig, clock } = parts;
  const days = (n: number) => n * 24 * HOUR_MS;
  return new StabilityMonitor(parts.stabilityStore, parts.alerts, parts.snapshots, parts.stability, clock, parts.logger, {
    // Until `listen` knows the server's address (it calls useBaseUrl), links point at the default one.
    alerts: { baseUrl: stabilityConfig.baseUrl ?? 'http://127.0.0.1:8080', businessHours: stabilityConfig.businessHours },
    notifiers: createNotifiers(stabilityConfig.notifiers, () => clock.now()),
    retention: {
      ...DEFAULT_RETENTION,
      minuteBucketsMs: days(stabilityConfig.retention.minuteBucketsDays),
      hourBucketsMs: days(stabilityConfig.retention.hourBucketsDays),
      minuteEvaluationsMs: days(stabilityConfig.retention.minuteEvaluationsDays),
      hourEvaluationsMs: days(stabilityConfig.retention.hourEvaluationsDays),
    },
    maxCatchUpMinutes: stabilityConfig.maxCatchUpMinutes,
    ...(parts.database.dialect === 'postgres' ? { leadership: new PostgresAdvisoryLock(parts.url, 'stability.monitor', parts.logger) } : {}),
  });
}

/** What a stream worker process needs besides its stream: the store its batches go to, and the monitor. */
export interface WorkerServices {
  database: DatabaseHandle;
  stabilityStore: StabilityStore;
  /** Evaluates only while this process leads (see `createMonitor`); start it to take part. */
  monitor: StabilityMonitor;
  logger: Logger;
  clock: Clock;
  close(): Promise<void>;
}

/**
 * Wires a worker: the database, the stability store, and the stability monitor with what evaluation
 * reads (registry snapshots, SLO reports, alerts). Unlike `createModelfleet` it issues no admin token,
 * runs no launches and leaves capacity estimates alone: those belong to the API servers.
 */
export async function createWorkerServices(options: { db: string; logger?: Logger; clock?: Clock; stability?: z.input<typeof StabilityConfigSchema> }): Promise<WorkerServices> {
  const logger = options.logger ?? pino({ level: process.env['MODELFLEET_LOG_LEVEL'] ?? 'info' });
  const clock = options.clock ?? systemClock;
  const stabilityConfig = StabilityConfigSchema.parse(options.stability ?? {});
  const database = await openDatabase(options.db);
  const registry = new RegistryService(kyselyRegistryStore(database), clock);
  const stabilityStore = kyselyStabilityStore(database);
  const snapshots = new RegistrySnapshotSource(registry);
  const stability = new StabilityService(stabilityStore, snapshots, registry, clock, stabilityConfig.objectives, stabilityConfig.retention.minuteBucketsDays * 24 * HOUR_MS);
  const alerts = kyselyAlertStore(database.db);
  const monitor = createMonitor({ url: options.db, database, stabilityStore, alerts, snapshots, stability, clock, logger, stabilityConfig });
  return {
    database,
    stabilityStore,
    monitor,
    logger,
    clock,
    close: async () => {
      await monitor.stop();
      snapshots.close();
      await database.close();
    },
  };
}

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Serves the API of a wired modelfleet on host:port (port 0 picks a free one). */
export async function listen(fleet: Modelfleet, options: { host?: string; port?: number } = {}): Promise<RunningServer> {
  const app = createApi({ registry: fleet.registry, tokens: fleet.tokens, logger: fleet.logger, ingestion: fleet.ingestion, ingestMetrics: fleet.ingestMetrics, metrics: fleet.metrics, stability: fleet.stability, alerts: fleet.alerts, recordings: fleet.recordings, capacity: fleet.capacity, estimates: fleet.estimates, quotas: fleet.quotas, launches: fleet.launches, monitoring: fleet.monitoring });
  const host = options.host ?? '127.0.0.1';
  const server: ServerType = await new Promise((resolveServer, reject) => {
    const s = serve({ fetch: app.fetch, port: options.port ?? 0, hostname: host }, () => resolveServer(s));
    s.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  if (!fleet.stabilityConfig.baseUrl) {
    fleet.monitor.useBaseUrl(`http://${shownHost}:${port}`);
    fleet.monitoring.useBaseUrl(`http://${shownHost}:${port}`);
  }
  return {
    url: `http://${shownHost}:${port}`,
    port,
    close: () =>
      new Promise<void>((done) => {
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close(() => done());
      }),
  };
}

export interface RouterOptions {
  host?: string;
  port?: number;
  /** Share of requests stored as their type's recording; default 0.01. */
  sampleRate?: number;
  /** How often its traffic stats are written for launch gates to read; default 5 s. */
  flushMs?: number;
}

/**
 * The router in this process: traffic to the local executor's replicas by the registry's shares, its
 * stats written where launch gates read them, a sample of requests kept as recordings.
 */
export async function startRouter(fleet: Modelfleet, options: RouterOptions = {}): Promise<Router> {
  const local = fleet.executors.local;
  if (!(local instanceof LocalExecutor)) throw new Error('the router in the server sends to local replicas: the local executor is turned off');
  const rate = options.sampleRate ?? 0.01;
  const traffic = new RouterTraffic(kyselyRouterTrafficStore(fleet.database.db), `${hostname()}-${process.pid}-serve`, options.flushMs ? { flushMs: options.flushMs } : {});
  const sampler = rate > 0 ? new TrafficSampler(fleet.recordings, { rate }) : null;
  return Router.start({ allocations: new RegistryAllocationSource(fleet.snapshots, fleet.registry), replicas: local, traffic, sampler, host: options.host ?? '127.0.0.1', port: options.port ?? 0 });
}
