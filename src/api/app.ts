import { Hono } from 'hono';
import type { Logger } from 'pino';
import type { TokenService } from '../auth/tokenService.js';
import type { RegistryService } from '../registry/registryService.js';
import { requireActor, type AppEnv } from './auth.js';
import { errorBody } from './errorResponse.js';
import { ApiRoutes } from './openapi.js';
import { registerApprovalRoutes } from './routes/approvals.js';
import { registerExtensionSchemaRoutes } from './routes/extensionSchemas.js';
import { registerLedgerRoutes } from './routes/ledger.js';
import { registerRegistryEntityRoutes } from './routes/registryEntities.js';
import { registerTokenRoutes } from './routes/tokens.js';
import { notFound } from '../core/errors.js';
import type { Registry as MetricsRegistry } from 'prom-client';
import type { IngestionService } from '../stability/ingestion.js';
import type { IngestMetrics } from '../monitoring/ingestMetrics.js';
import { registerEventRoutes } from './routes/events.js';
import { registerStabilityRoutes } from './routes/stability.js';
import { registerCapacityRoutes } from './routes/capacity.js';
import type { RecordingService } from '../capacity/recordingService.js';
import type { CapacityService } from '../capacity/capacityService.js';
import type { CapacityEstimateJobs } from '../capacity/estimateJobs.js';
import type { StabilityService } from '../stability/stabilityService.js';
import type { AlertStore } from '../alerting/alertStore.js';
import type { QuotaService } from '../launch/quotaService.js';
import { registerQuotaRoutes } from './routes/quotas.js';
import type { LaunchService } from '../launch/launchService.js';
import { registerLaunchRoutes } from './routes/launches.js';
import type { MonitoringBundleService } from '../monitoring/generate/monitoringBundle.js';
import { registerMonitoringRoutes } from './routes/monitoring.js';
import { registerConsoleAssets } from './consoleAssets.js';
import { registerCatalogRoutes } from './routes/catalog.js';

export interface ApiServices {
  registry: RegistryService;
  tokens: TokenService;
  logger: Logger;
  ingestion: IngestionService;
  ingestMetrics: IngestMetrics;
  metrics: MetricsRegistry;
  stability: StabilityService;
  alerts: AlertStore;
  recordings: RecordingService;
  capacity: CapacityService;
  estimates: CapacityEstimateJobs;
  quotas: QuotaService;
  launches: LaunchService;
  monitoring: MonitoringBundleService;
  /** The built console served at `/`; default dist/web. */
  consoleDir?: string;
}

/** The HTTP API: web-standard Request/Response, so tests can call `app.fetch` or a real server alike. */
export function createApi(services: ApiServices): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const routes = new ApiRoutes(app);

  app.onError((error, c) => {
    const { status, body } = errorBody(error);
    if (status >= 500) services.logger.error({ err: error, method: c.req.method, path: c.req.path }, 'request failed');
    if (status === 401) c.header('WWW-Authenticate', 'Bearer realm="modelfleet"');
    return c.json(body, status);
  });
  app.notFound((c) => {
    const { status, body } = errorBody(notFound(`no route ${c.req.method} ${c.req.path}; see /api/v1/openapi.json for the API`));
    return c.json(body, status);
  });

  app.use('*', async (c, next) => {
    const started = performance.now();
    await next();
    // Never log headers or bodies: they carry tokens and team data.
    services.logger.debug({ method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round((performance.now() - started) * 10) / 10, actor: c.get('actor')?.name }, 'request');
  });

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  // Prometheus scrapes without a token, as is usual; the counters carry no secrets.
  app.get('/metrics', async (c) => c.text(await services.metrics.metrics(), 200, { 'content-type': services.metrics.contentType }));
  app.get('/api/v1/openapi.json', (c) => c.json(document ??= routes.document()));
  let document: object | undefined;

  app.use('/api/v1/*', requireActor(services.tokens));
  registerRegistryEntityRoutes(routes, services.registry);
  registerApprovalRoutes(routes, services.registry);
  registerExtensionSchemaRoutes(routes, services.registry);
  registerLedgerRoutes(routes, services.registry);
  registerTokenRoutes(routes, services.tokens);
  registerEventRoutes(routes, services.ingestion, services.ingestMetrics);
  registerStabilityRoutes(routes, services.stability, services.alerts, services.registry);
  registerCapacityRoutes(routes, services.recordings, services.capacity, services.estimates);
  registerQuotaRoutes(routes, services.quotas);
  registerLaunchRoutes(routes, services.launches);
  registerMonitoringRoutes(routes, services.monitoring);
  registerCatalogRoutes(routes, services.registry, services.stability);
  registerConsoleAssets(app, services.consoleDir);
  return app;
}
