import { Option, type Command } from 'commander';

/** The serving modules load only when this command runs, so `modelfleet --help` and other commands start quickly. */
const servingStack = () => import('../serving/modelServer.js');
const artifactModule = () => import('../serving/modelArtifact.js');

interface ModelServerCliOptions {
  model: string;
  port?: string;
  host: string;
  artifact?: string;
  workers: string;
  tasks?: string;
  size?: 'small' | 'medium' | 'large';
  seed?: string;
  writeArtifact?: string;
  errorRate?: string;
  extraLatencyMs?: string;
}

function share(flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new Error(`${flag} '${value}' is not a share from 0 to 1 (0.05 fails 5% of predictions)`);
  return n;
}

function wholeNumber(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < min || n > max) throw new Error(`${flag} '${value}' is not a whole number from ${min} to ${max}`);
  return n;
}

export function registerModelServerCommand(program: Command): void {
  program
    .command('model-server')
    .description('serve a model: POST /predict scores candidates per task with a real network, GET /healthz, GET /metrics')
    .requiredOption('--model <id>', 'the model served, e.g. ig_feed_mtml:v3')
    .option('--port <port>', 'port to listen on (0: any free port); required to serve')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--artifact <file>', 'weights to serve (modelfleet-mlp JSON); default: generated from the model id, the same every time')
    .option('--workers <n>', 'processes sharing the port; a worker that dies is restarted', '1')
    .option('--tasks <names>', 'tasks of the generated artifact, comma-separated (default PLIKE,PCOMMENT,PFOLLOW)')
    .addOption(new Option('--size <size>', 'dimensions of the generated artifact (default medium)').choices(['small', 'medium', 'large']))
    .option('--seed <n>', 'seed of the generated artifact (default: derived from the model id)')
    .option('--write-artifact <file>', 'write the artifact to FILE and exit instead of serving (to inspect it, or to serve it with --artifact)')
    .option('--error-rate <share>', 'rehearsal only: answer this share of /predict requests with 500, evenly spread (0.25 fails every 4th)')
    .option('--extra-latency-ms <ms>', 'rehearsal only: wait this many milliseconds before every /predict answer')
    .addHelpText(
      'after',
      `
Examples:
  modelfleet model-server --model ig_feed_mtml:v3 --port 8500
  modelfleet model-server --model ig_feed_mtml:v3 --port 8500 --size large --workers 2
  modelfleet model-server --model ig_feed_mtml:v3 --write-artifact feed-v3.json --tasks PLIKE,PCOMMENT
  modelfleet model-server --model ig_feed_mtml:v3 --port 8500 --artifact feed-v3.json

Rehearsing failures:
  --error-rate and --extra-latency-ms make a healthy model misbehave on purpose, so a launch's gates
  and rollback can be rehearsed (in tests, demos, or a staging fleet) without a broken model. The
  failures are deterministic: with --error-rate 0.1 exactly every 10th prediction fails. Never use
  them for a model that serves real traffic.
  modelfleet model-server --model ig_feed_mtml:v4 --port 8501 --error-rate 0.1
  modelfleet model-server --model ig_feed_mtml:v4 --port 8501 --extra-latency-ms 250`,
    )
    .action(async (options: ModelServerCliOptions) => {
      const { resolveArtifact, startModelServer } = await servingStack();
      const generation = {
        ...(options.tasks ? { tasks: options.tasks.split(',').map((t) => t.trim()).filter(Boolean) } : {}),
        ...(options.size ? { size: options.size } : {}),
        ...(options.seed !== undefined ? { seed: wholeNumber('--seed', options.seed, 0, 2 ** 32 - 1) } : {}),
      };
      const source = { model: options.model, ...(options.artifact ? { artifact: options.artifact } : {}), ...generation };

      if (options.writeArtifact) {
        const { saveArtifact, parameterCount } = await artifactModule();
        const artifact = await resolveArtifact(source);
        await saveArtifact(options.writeArtifact, artifact);
        process.stdout.write(`wrote ${options.writeArtifact}: model ${artifact.model}, tasks ${artifact.tasks.join(', ')}, ${parameterCount(artifact)} parameters\n`);
        return;
      }
      if (options.port === undefined) throw new Error('--port is required to serve (0 for any free port); or pass --write-artifact FILE to write the artifact and exit');
      const faults = {
        ...(options.errorRate !== undefined ? { errorRate: share('--error-rate', options.errorRate) } : {}),
        ...(options.extraLatencyMs !== undefined ? { extraLatencyMs: wholeNumber('--extra-latency-ms', options.extraLatencyMs, 0, 60_000) } : {}),
      };
      const server = await startModelServer({
        ...source,
        ...(Object.keys(faults).length ? { faults } : {}),
        host: options.host,
        port: wholeNumber('--port', options.port, 0, 65535),
        workers: wholeNumber('--workers', options.workers, 1, 256),
      });
      process.stdout.write(
        [
          `model-server ${options.model} listening on ${server.url} (${server.workers} worker${server.workers === 1 ? '' : 's'})`,
          ...(Object.keys(faults).length ? [`  rehearsing failures: ${[faults.errorRate !== undefined && `${faults.errorRate * 100}% of predictions answer 500`, faults.extraLatencyMs !== undefined && `+${faults.extraLatencyMs} ms per prediction`].filter(Boolean).join(', ')}`] : []),
          `  try: curl -s ${server.url}/predict -d '{"user": {"id": "u1", "features": {"country": "us"}}, "candidates": [{"id": "c1", "features": {"media": "video"}}]}'`,
          `       curl -s ${server.url}/healthz; curl -s ${server.url}/metrics`,
          '  Ctrl-C stops it.',
          '',
        ].join('\n'),
      );
      const stop = async () => {
        process.stderr.write('stopping the model server...\n');
        await server.close();
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
