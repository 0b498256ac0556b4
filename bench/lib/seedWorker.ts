import pino from 'pino';
import { createModelfleet } from '../../src/modelfleet.js';
import { systemActor } from '../../src/registry/actor.js';
import { generateFleet } from '../../src/sim/fleet.js';
import { seedFleet } from '../../src/sim/seedFleet.js';

/**
 * Seeds a registry in its own process: `node seedWorker.js DB_URL MODELS SEED DATA_DIR`, printing
 * `{"ms":..., "create":...}`. Loading 100,000 models leaves a heap of gigabytes behind; kept out of the
 * benchmark process, its garbage collection cannot stall the load generator later.
 */
const [db, models, seed, dataDir] = process.argv.slice(2);
if (!db || !models || !seed || !dataDir) throw new Error('usage: seedWorker DB_URL MODELS SEED DATA_DIR');
const fleet = generateFleet({ models: Number(models), seed: Number(seed) });
const registry = await createModelfleet({ db, adminToken: process.env['MODELFLEET_ADMIN_TOKEN'], dataDir, logger: pino({ level: 'silent' }) });
try {
  const started = performance.now();
  const summary = await seedFleet(registry.registry, systemActor, fleet);
  process.stdout.write(`${JSON.stringify({ ms: performance.now() - started, ...summary })}\n`);
} finally {
  await registry.close();
}
