import type { Command } from 'commander';
import type { StreamWorkerStats } from '../stability/streamWorker.js';
import { loadStabilityConfig } from '../alerting/stabilityConfig.js';
import { DEFAULT_EVENT_STREAM } from '../stream/eventStreamSettings.js';
import { wholeNumberOption } from './optionValues.js';

interface WorkerCliOptions {
  nats?: string;
  db?: string;
  batch: string;
  flushMs: string;
  stream: string;
  consumer: string;
  subjectPrefix: string;
  ackWaitMs: string;
  progressMs: string;
  stabilityConfig?: string;
  metricsPort?: string;
  metricsHost: string;
}

function streamName(flag: string, value: string): string {
  // JetStream names may not hold '.', '*', '>' or whitespace; subject prefixes are dot-separated tokens.
  const pattern = flag === '--subject-prefix' ? /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/ : /^[A-Za-z0-9_-]+$/;
  if (!pattern.test(value)) throw new Error(`${flag} '${value}' is not valid: use letters, digits, '_' and '-'${flag === '--subject-prefix' ? ", tokens separated by '.'" : ''}`);
  return value;
}

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('aggregate labeled predictions from the NATS JetStream event stream into the database (run as many as needed); evaluates stability while it leads')
    .option('--nats <url>', 'NATS with JetStream, the one the servers publish to (nats://host:4222, comma-separated for a cluster)', process.env['MODELFLEET_NATS'] || undefined)
    .option('--db <url>', "the servers' database: postgres://... (sqlite:PATH works for one machine)", process.env['MODELFLEET_DB'] || undefined)
    .option('--batch <n>', 'messages per transaction at most', '500')
    .option('--flush-ms <ms>', 'write a partial batch after this long', '200')
    .option('--stream <name>', 'JetStream stream carrying the events', DEFAULT_EVENT_STREAM.stream)
    .option('--subject-prefix <prefix>', "its subjects are '<prefix>.<model type>'", DEFAULT_EVENT_STREAM.subjectPrefix)
    .option('--consumer <name>', 'the durable consumer all workers share', DEFAULT_EVENT_STREAM.consumer)
    .option('--ack-wait-ms <ms>', "a message a worker took and did not acknowledge within this goes to another (the worker died); used when this worker creates the consumer, as the servers' settings win otherwise", String(DEFAULT_EVENT_STREAM.ackWaitMs))
    .option('--progress-ms <ms>', 'how often progress (messages/s, events/s, lag, backlog) is logged', '5000')
    .option('--metrics-port <port>', 'serve Prometheus metrics (messages, events, lag, backlog, failed flushes) and /healthz on this port (0: any free one); off when not given')
    .option('--metrics-host <host>', 'address the metrics port listens on', '127.0.0.1')
    .option('--stability-config <file>', "the servers' stability config (notifiers, objectives, retention): the leading worker evaluates and alerts with it")
    .addHelpText(
      'after',
      `
Each batch is written in one transaction that also records the messages' stream sequences, and
acknowledged only after it commits: a worker killed at any point loses nothing and counts nothing
twice. Workers on one database elect one leader (a PostgreSQL advisory lock) to evaluate stability,
SLOs and alerts for the whole fleet. SIGTERM or SIGINT: stop fetching, write and acknowledge what
was fetched, exit 0.

Example:
  modelfleet worker --nats nats://nats:4222 --db postgres://modelfleet@db:5432/modelfleet`,
    )
    .action(async (options: WorkerCliOptions) => {
      if (!options.nats) throw new Error('--nats is required (or MODELFLEET_NATS): the NATS server the modelfleet servers publish events to');
      if (!options.db) throw new Error('--db is required (or MODELFLEET_DB): the database the modelfleet servers use, e.g. postgres://modelfleet@db:5432/modelfleet');
      const batch = wholeNumberOption('--batch', options.batch, 1);
      const flushMs = wholeNumberOption('--flush-ms', options.flushMs, 1);
      const settings = {
        stream: streamName('--stream', options.stream),
        subjectPrefix: streamName('--subject-prefix', options.subjectPrefix),
        consumer: streamName('--consumer', options.consumer),
        ackWaitMs: wholeNumberOption('--ack-wait-ms', options.ackWaitMs, 1000),
      };
      const progressMs = wholeNumberOption('--progress-ms', options.progressMs, 0);
      const stability = options.stabilityConfig ? loadStabilityConfig(options.stabilityConfig) : undefined;

      // Loaded only when this command runs, so other commands start quickly.
      const [{ createWorkerServices }, { connectNats }, { JetStreamSource }, { StreamWorker }] = await Promise.all([
        import('../modelfleet.js'),
        import('../stream/eventStream.js'),
        import('../stream/jetStreamSource.js'),
        import('../stability/streamWorker.js'),
      ]);
      const services = await createWorkerServices({ db: options.db, ...(stability ? { stability } : {}) });
      const { logger } = services;
      let nc: Awaited<ReturnType<typeof connectNats>>;
      let source: Awaited<ReturnType<typeof JetStreamSource.open>>;
      try {
        nc = await connectNats(options.nats, 'modelfleet-worker');
      } catch (error) {
        await services.close();
        throw new Error(`cannot reach NATS at ${options.nats}: ${(error as Error).message}`);
      }
      try {
        source = await JetStreamSource.open(nc, { settings, prefetch: batch, logger });
      } catch (error) {
        await nc.close();
        await services.close();
        throw new Error(`cannot set up stream '${settings.stream}' and consumer '${settings.consumer}' on ${options.nats}: ${(error as Error).message}`);
      }
      const worker = new StreamWorker(source, services.stabilityStore, services.clock, logger, { batch, flushMs, progressMs });
      const consuming = worker.start();
      services.monitor.start();
      const metrics = options.metricsPort !== undefined ? await serveWorkerMetrics(worker, options.metricsHost, wholeNumberOption('--metrics-port', options.metricsPort, 0)) : null;
      if (metrics) logger.info({ url: metrics.url }, 'worker metrics');
      logger.info({ nats: options.nats, db: services.database.description, stream: source.stream, consumer: settings.consumer, batch, flushMs }, 'modelfleet worker consuming');

      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        logger.info({ signal }, 'stopping: writing and acknowledging what was fetched');
        const stored = await worker.stop();
        await metrics?.close();
        // Drain sends the acknowledgements still buffered before the connection closes.
        await nc.drain().catch(() => {});
        await services.close();
        logger.info({ ...worker.stats(), complete: stored }, 'modelfleet worker stopped');
        process.exit(stored ? 0 : 1);
      };
      process.once('SIGINT', () => void stop('SIGINT'));
      process.once('SIGTERM', () => void stop('SIGTERM'));
      await consuming;
    });
}

/** A Prometheus endpoint for the worker: GET /metrics and /healthz, nothing else. */
async function serveWorkerMetrics(worker: { stats(): StreamWorkerStats }, host: string, port: number): Promise<{ url: string; close(): Promise<void> }> {
  const [{ createServer }, { workerMetricsRegistry }] = await Promise.all([import('node:http'), import('../monitoring/workerMetrics.js')]);
  const registry = workerMetricsRegistry(() => worker.stats());
  const server = createServer((request, response) => {
    if (request.method === 'GET' && request.url === '/metrics') {
      registry.metrics().then(
        (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (error: unknown) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${(error as Error).message}\n`),
      );
    } else if (request.method === 'GET' && request.url === '/healthz') {
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    } else {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics and /healthz here\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(error.code === 'EADDRINUSE' ? new Error(`--metrics-port ${port} on ${host} is in use: pass a free one (or 0 for any)`) : error));
    server.listen(port, host, resolve);
  });
  const address = server.address() as { port: number };
  return { url: `http://${host}:${address.port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
