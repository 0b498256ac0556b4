import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadStabilityConfig } from '../alerting/stabilityConfig.js';
import type { Modelfleet, RunningServer } from '../modelfleet.js';
import { systemActor } from '../registry/actor.js';
import { generateFleet } from '../sim/fleet.js';
import { seedDemoActivity, seedFleet } from '../sim/seedFleet.js';
import { DemoTraffic } from '../sim/demoTraffic.js';
import { DemoLaunches } from '../sim/demoLaunches.js';
import { DEFAULT_DATABASE_URL } from '../store/database.js';
import { wholeNumberOption } from './optionValues.js';

function stopOnSignal(server: RunningServer, fleet: Modelfleet, traffic: DemoTraffic | null = null, replica: { close(): Promise<void> } | null = null, launches: DemoLaunches | null = null): void {
  const stop = async () => {
    process.stderr.write('\nshutting down...\n');
    launches?.stop();
    await traffic?.stop();
    await replica?.close();
    await server.close();
    await fleet.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/**
 * The demo's serving processes: a slice of the fleet logs labeled predictions over HTTP, the last
 * 55 minutes first (within the hour of lateness) so evaluation windows are full at once.
 */
async function startDemoTraffic(fleet: Modelfleet, url: string, token: string, models: number): Promise<DemoTraffic | null> {
  if (!(models > 0)) return null;
  const [types, all] = await Promise.all([fleet.registry.listModelTypes({ limit: 1000 }), fleet.registry.listModels({ limit: 1000 })]);
  const traffic = new DemoTraffic(all.items, new Map(types.items.map((t) => [t.name, t])), { server: url, token, models });
  const started = performance.now();
  process.stderr.write(`logging the last 55 minutes of predictions for ${traffic.modelCount} models...\n`);
  await traffic.backfill(Date.now(), 55);
  process.stderr.write(`logged in ${Math.round(performance.now() - started)} ms\n`);
  traffic.start();
  return traffic;
}

/**
 * A launch candidate served for real by the reference model server, and a recording of its type's
 * traffic (stored in the registry and written to a file), so a capacity estimate can be tried at once.
 */
async function startDemoReplica(fleet: Modelfleet): Promise<{ model: string; url: string; file: string; requests: number; recordingId: string; close(): Promise<void> } | null> {
  const candidates = (await fleet.registry.listModels({ limit: 1000, role: 'candidate' })).items;
  const model = candidates[0];
  if (!model) return null;
  const type = await fleet.registry.getModelType(model.modelType);
  const [{ startModelServer }, { simulateRecording }, { createRng }] = await Promise.all([import('../serving/modelServer.js'), import('../sim/recordedTraffic.js'), import('../sim/random.js')]);
  const served = await startModelServer({ model: model.id, tasks: type.tasks.map((t) => t.name), size: 'medium', port: 0 });
  const lines = simulateRecording(createRng(3), { requests: 500, candidates: [20, 120] }).map((l) => JSON.stringify(l));
  const text = `${lines.join('\n')}\n`;
  const file = join(fleet.dataDir, 'demo-recording.ndjson');
  writeFileSync(file, text);
  const recording = await fleet.recordings.import(systemActor, type.name, text, { name: 'demo' });
  return { model: model.id, url: served.url, file, requests: lines.length, recordingId: recording.id, close: served.close };
}

/** The server stack loads only when a command serves, so other commands start quickly. */
const serverStack = () => import('../modelfleet.js');

async function listenWithFallback(fleet: Modelfleet, host: string, port: number, fallback: boolean): Promise<RunningServer> {
  const { listen } = await serverStack();
  try {
    return await listen(fleet, { host, port });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    if (!fallback) throw new Error(`port ${port} on ${host} is in use: pass --port with a free one (or 0 for any)`);
    process.stderr.write(`port ${port} is in use; serving on a free port instead\n`);
    return listen(fleet, { host, port: 0 });
  }
}

const portOf = (value: string) => {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port '${value}' is not a port number (0-65535)`);
  return port;
};

export function registerServeCommands(program: Command): void {
  program
    .command('serve')
    .description('run the modelfleet server (API under /api/v1)')
    .option('--db <url>', 'sqlite:PATH, sqlite::memory: or postgres://...', process.env['MODELFLEET_DB'] ?? DEFAULT_DATABASE_URL)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on', '8080')
    .option('--data-dir <dir>', 'where the admin token file goes (default: beside the SQLite file, else ./.modelfleet)')
    .option('--stability-config <file>', 'YAML or JSON: SLO objectives per tier, business hours, notifiers, lateness, retention')
    .option('--router-port <port>', "also run the router in this process on this port (POST /rank/{modelType} to the local executor's replicas)")
    .option('--kubernetes-config <file>', 'YAML or JSON: API server, token and CA files, namespace, image and Gateway for launches on the kubernetes executor')
    .option('--nats <url>', 'NATS with JetStream (nats://host:4222, comma-separated for a cluster): publish ingested events there for `modelfleet worker` to aggregate, instead of writing them here', process.env['MODELFLEET_NATS'] || undefined)
    .option('--max-pending <n>', "with --nats: the workers' backlog (messages) above which ingestion answers 503 with Retry-After (default 50000)")
    .option('--stream-replicas <n>', 'with --nats: copies of each event message across the NATS cluster (3 for a cluster of three)', '1')
    .action(async (options: { db: string; host: string; port: string; dataDir?: string; stabilityConfig?: string; routerPort?: string; kubernetesConfig?: string; nats?: string; maxPending?: string; streamReplicas: string }) => {
      const stability = options.stabilityConfig ? loadStabilityConfig(options.stabilityConfig) : undefined;
      const kubernetes = options.kubernetesConfig ? (await import('../serving/kubernetesConfig.js')).loadKubernetesConfig(options.kubernetesConfig) : undefined;
      const fleet = await (await serverStack()).createModelfleet({
        db: options.db,
        adminToken: process.env['MODELFLEET_ADMIN_TOKEN'],
        ...(options.dataDir ? { dataDir: options.dataDir } : {}),
        ...(stability ? { stability } : {}),
        ...(kubernetes ? { launch: { kubernetes } } : {}),
        ...(options.nats ? { stream: { natsUrl: options.nats, ...(options.maxPending !== undefined ? { maxPending: wholeNumberOption('--max-pending', options.maxPending, 1) } : {}), settings: { replicas: wholeNumberOption('--stream-replicas', options.streamReplicas, 1) } } } : {}),
      });
      const server = await listenWithFallback(fleet, options.host, portOf(options.port), false);
      fleet.monitor.start();
      const router = options.routerPort !== undefined ? await (await serverStack()).startRouter(fleet, { host: options.host, port: portOf(options.routerPort) }) : null;
      fleet.logger.info({ url: server.url, router: router?.url ?? null, db: fleet.database.description, nats: options.nats ?? null }, 'modelfleet serving');
      if (fleet.issuedAdminToken) {
        process.stdout.write(`\nAdmin token (shown once, also saved to ${fleet.issuedAdminToken.file} with mode 0600):\n  ${fleet.issuedAdminToken.token}\n\n`);
      }
      stopOnSignal(server, fleet, null, router);
    });

  program
    .command('demo')
    .description('serve a synthetic Instagram-like fleet of 1000+ models on embedded SQLite')
    .option('--db <url>', 'database for the demo', 'sqlite:./.modelfleet/demo.db')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (falls back to a free one when taken)', '8080')
    .option('--models <n>', 'how many models the fleet has', '1200')
    .option('--seed <n>', 'seed of the synthetic fleet', '7')
    .option('--stability-config <file>', 'YAML or JSON: SLO objectives per tier, business hours, notifiers, lateness, retention')
    .option('--traffic-models <n>', 'how many models send simulated labeled predictions (0: none)', '60')
    .option('--no-launches', 'start no launches on the simulated fleet')
    .action(async (options: { db: string; host: string; port: string; models: string; seed: string; stabilityConfig?: string; trafficModels: string; launches: boolean }) => {
      const started = performance.now();
      const stability = options.stabilityConfig ? loadStabilityConfig(options.stabilityConfig) : undefined;
      const fleet = await (await serverStack()).createModelfleet({
        db: options.db,
        adminToken: process.env['MODELFLEET_ADMIN_TOKEN'],
        dataDir: '.modelfleet',
        ...(stability ? { stability } : {}),
        // Simulated replicas start in seconds, so a demo launch is watched end to end in a few minutes.
        launch: { simulated: { startupMs: 8_000 } },
      });
      const existing = await fleet.registry.store.listTeams({ limit: 1, cursor: null });
      if (!existing.items.length) {
        const synthetic = generateFleet({ models: Number(options.models), seed: Number(options.seed) });
        process.stderr.write(`seeding ${synthetic.teams.length} teams, ${synthetic.modelTypes.length} model types, ${synthetic.models.length} models...\n`);
        const summary = await seedFleet(fleet.registry, systemActor, synthetic);
        await seedDemoActivity(fleet.registry, synthetic);
        process.stderr.write(`seeded ${summary.create} entries in ${Math.round(performance.now() - started)} ms\n`);
      } else {
        process.stderr.write(`using the fleet already in ${fleet.database.description}\n`);
      }
      const server = await listenWithFallback(fleet, options.host, portOf(options.port), true);
      const tokenFile = join(fleet.dataDir, 'admin-token');
      const token = fleet.issuedAdminToken?.token ?? (process.env['MODELFLEET_ADMIN_TOKEN'] || (existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : '(see MODELFLEET_ADMIN_TOKEN)'));
      const traffic = await startDemoTraffic(fleet, server.url, token, Number(options.trafficModels));
      const replica = await startDemoReplica(fleet);
      fleet.monitor.start();
      const launches = options.launches ? new DemoLaunches({ registry: fleet.registry, launches: fleet.launches, estimates: fleet.estimates, logger: fleet.logger }) : null;
      await launches?.start(replica ? { model: replica.model, target: replica.url, recordingId: replica.recordingId } : null);
      const cli = `MODELFLEET_SERVER=${server.url} npx modelfleet`;
      process.stdout.write(
        [
          '',
          `modelfleet demo is serving ${server.url}`,
          `  console: open ${server.url} and sign in with the admin token`,
          `  admin token: ${token}`,
          ...(launches?.started.length ? [`  launches on the simulated fleet: ${launches.started.map((l) => `${l.candidate} (${l.phase.replace(/_/g, ' ')})`).join(', ')}; watch them at ${server.url}/launches`] : []),
          `  try: curl -H "Authorization: Bearer ${token}" "${server.url}/api/v1/models?surface=feed&criticality=TIER0&limit=5"`,
          `       ${cli} types list --criticality TIER0`,
          ...(traffic
            ? [
                `  stability: ${traffic.modelCount} models send labeled predictions through modelfleet/client; two have gone bad:`,
                ...traffic.injected.map((f) => `       ${f.model} (${f.tier} ${f.role}): ${f.description}`),
                `       ${cli} stability            # the fleet, and why the unstable ones are`,
                `       ${cli} alerts               # what on-call sees, with what to do`,
                ...traffic.injected.filter((f) => f.role === 'experiment').map((f) => `       ${cli} models end-experiment ${f.model} --yes`),
              ]
            : []),
          ...(replica
            ? [
                launches
                  ? `  capacity: ${replica.model} is served for real at ${replica.url}; the demo is measuring it now by replaying ${replica.requests} recorded requests (${replica.file}), then launches it on the simulated fleet: see ${server.url}/models/${encodeURIComponent(replica.model)}`
                  : `  capacity: ${replica.model} is served for real at ${replica.url}; ${replica.requests} recorded requests of its type are in ${replica.file}:`,
                `       ${cli} capacity estimate --target ${replica.url} --traffic ${replica.file} --p99-ms 100 --max-error-rate 0.001`,
                `       ${cli} capacity cost ${replica.model} --peak-qps 2000`,
                `       ${cli} launch list; ${cli} launch status <id> --follow; ${cli} quotas`,
              ]
            : []),
          `  API reference: ${server.url}/api/v1/openapi.json`,
          '  Ctrl-C stops it.',
          '',
        ].join('\n'),
      );
      stopOnSignal(server, fleet, traffic, replica, launches);
    });
}
