import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { DEFAULT_DATABASE_URL } from '../store/database.js';

/** The router's stack loads only when this command runs, so `modelfleet --help` and other commands start quickly. */
const routerStack = async () => {
  const [database, registryRepository, registryService, snapshot, allocationSource, directory, replicas, trafficRepository, routerTraffic, recordingService, recordingRepository, sampler, router, fleet] = await Promise.all([
    import('../store/database.js'),
    import('../store/registryRepository.js'),
    import('../registry/registryService.js'),
    import('../stability/registrySnapshot.js'),
    import('../serving/allocationSource.js'),
    import('../serving/pollingReplicaDirectory.js'),
    import('../store/replicaRepository.js'),
    import('../store/routerTrafficRepository.js'),
    import('../serving/routerTraffic.js'),
    import('../capacity/recordingService.js'),
    import('../store/recordingRepository.js'),
    import('../serving/trafficSampler.js'),
    import('../serving/router.js'),
    import('../modelfleet.js'),
  ]);
  return { ...database, ...registryRepository, ...registryService, ...snapshot, ...allocationSource, ...directory, ...replicas, ...trafficRepository, ...routerTraffic, ...recordingService, ...recordingRepository, ...sampler, ...router, defaultDataDir: fleet.defaultDataDir };
};

interface RouterCliOptions {
  db: string;
  host: string;
  port: string;
  sampleRate: string;
  dataDir?: string;
  routerId?: string;
}

function fraction(flag: string, value: string): number {
  const n = Number(value);
  if (!value.trim() || !Number.isFinite(n) || n < 0 || n > 1) throw new Error(`${flag} '${value}' is not a fraction from 0 to 1 (0.01 records 1% of requests, 0 none)`);
  return n;
}

function portNumber(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n > 65535) throw new Error(`--port '${value}' is not a port number (0-65535; 0 for any free port)`);
  return n;
}

export function registerRouterCommand(program: Command): void {
  program
    .command('router')
    .description("route ranking traffic to models' replicas by their traffic shares (sticky per user), record its stats and a sample of it")
    .option('--db <url>', 'the modelfleet database: sqlite:PATH or postgres://... (the same one the server uses)', process.env['MODELFLEET_DB'] ?? DEFAULT_DATABASE_URL)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0: any free port)', '8090')
    .option('--sample-rate <fraction>', "fraction of requests stored as their type's traffic recording (0: none)", '0.01')
    .option('--data-dir <dir>', "where sampled recordings are written: the server's data directory (default: beside the SQLite file, else ./.modelfleet)")
    .option('--router-id <id>', "this router's name in the traffic it records (default: host, process id and a random suffix, unique per run)")
    .addHelpText(
      'after',
      `
Requests: POST /rank/{modelType} with a predict body ({"user": {"id", "features"}, "candidates": [...]}).
The unit kept in one arm is the x-modelfleet-unit header, else user.id. Answers carry x-modelfleet-model
(the model that answered) and x-modelfleet-arm (the role of the unit's arm).

Examples:
  modelfleet router --db sqlite:./.modelfleet/modelfleet.db --port 8090
  modelfleet router --db postgres://modelfleet@db:5432/modelfleet --host 0.0.0.0 --port 8090 --sample-rate 0.001
  curl -s localhost:8090/rank/ig_feed_main_mtml -d '{"user": {"id": "u1", "features": {}}, "candidates": [{"id": "c1", "features": {}}]}'`,
    )
    .action(async (options: RouterCliOptions) => {
      const rate = fraction('--sample-rate', options.sampleRate);
      const port = portNumber(options.port);
      const s = await routerStack();
      const database = await s.openDatabase(options.db);
      const registry = new s.RegistryService(s.kyselyRegistryStore(database), s.systemClock);
      const snapshots = new s.RegistrySnapshotSource(registry);
      const replicas = new s.PollingReplicaDirectory(() => s.readyEndpoints(database.db));
      await replicas.start();
      const routerId = options.routerId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
      const traffic = new s.RouterTraffic(s.kyselyRouterTrafficStore(database.db), routerId);
      const dataDir = options.dataDir ?? s.defaultDataDir(options.db);
      const sampler = rate > 0 ? new s.TrafficSampler(new s.RecordingService(s.kyselyRecordingStore(database.db), registry, dataDir, s.systemClock), { rate }) : null;
      const router = await s.Router.start({ allocations: new s.RegistryAllocationSource(snapshots, registry), replicas, traffic, sampler, host: options.host, port });
      process.stdout.write(
        [
          `router ${routerId} listening on ${router.url} over ${database.description}`,
          `  ${router.allocationCount()} model types with live models; sampling ${rate * 100}% of requests into recordings${sampler ? ` in ${dataDir}` : ''}`,
          `  try: curl -s ${router.url}/rank/TYPE -d '{"user": {"id": "u1", "features": {}}, "candidates": [{"id": "c1", "features": {}}]}'`,
          `       curl -s ${router.url}/healthz; curl -s ${router.url}/metrics`,
          '  Ctrl-C stops it.',
          '',
        ].join('\n'),
      );
      const stop = async () => {
        process.stderr.write('stopping the router (writing its traffic and samples)...\n');
        await router.close();
        replicas.stop();
        snapshots.close();
        await database.close();
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
