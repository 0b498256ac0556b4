import pino from 'pino';
import { systemActor } from '../src/registry/actor.js';
import { DemoTraffic } from '../src/sim/demoTraffic.js';
import { generateFleet, type Fleet } from '../src/sim/fleet.js';
import { seedDemoActivity, seedFleet } from '../src/sim/seedFleet.js';
import { ADMIN_TOKEN, testDatabases, TestServer } from './harness.js';
import type { ModelfleetOptions } from '../src/modelfleet.js';

export interface ConsoleFixture {
  server: TestServer;
  fleet: Fleet;
  traffic: DemoTraffic;
  tokens: { admin: string; viewer: string; member: string; memberTeam: string };
  close(): Promise<void>;
}

/**
 * What the console's tests look at: a real server (SQLite in memory, the real clock) holding a
 * synthetic fleet, the last 55 minutes of labeled predictions for a slice of it (two models gone bad,
 * as in the demo), one evaluation of the fleet, and admin, viewer and team-member tokens.
 */
export async function startConsoleFixture(options: { models?: number; trafficModels?: number; server?: Partial<ModelfleetOptions> } = {}): Promise<ConsoleFixture> {
  const server = await TestServer.start(testDatabases[0]!, { logger: pino({ level: 'silent' }), ...options.server });
  const fleet = generateFleet({ models: options.models ?? 240, seed: 7 });
  await seedFleet(server.fleet.registry, systemActor, fleet);
  await seedDemoActivity(server.fleet.registry, fleet);
  const [types, models] = await Promise.all([server.fleet.registry.listModelTypes({ limit: 1000 }), server.fleet.registry.listModels({ limit: 1000 })]);
  const traffic = new DemoTraffic(models.items, new Map(types.items.map((t) => [t.name, t])), { server: server.url, token: ADMIN_TOKEN, models: options.trafficModels ?? 12, perMinute: 200 });
  await traffic.backfill(Date.now(), 55);
  await traffic.stop();
  await server.fleet.monitor.tick();
  const memberTeam = fleet.teams[0]!.name;
  const tokens = {
    admin: ADMIN_TOKEN,
    viewer: await server.token('console-viewer', 'viewer'),
    member: await server.token('console-member', 'member', memberTeam),
    memberTeam,
  };
  return { server, fleet, traffic, tokens, close: () => server.close() };
}
