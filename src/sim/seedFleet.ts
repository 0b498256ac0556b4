import type { Actor } from '../registry/actor.js';
import type { DesiredEntry } from '../registry/configPlan.js';
import type { RegistryService } from '../registry/registryService.js';
import type { Fleet } from './fleet.js';

/** The fleet as config documents: what a platform team would keep in a repository. */
export function fleetDocuments(fleet: Fleet): DesiredEntry[] {
  return [
    ...fleet.teams.map((input) => ({ kind: 'team' as const, input: { ...input } })),
    ...fleet.modelTypes.map((input) => ({ kind: 'modelType' as const, input: { ...input } })),
    ...fleet.models.map((input) => ({ kind: 'model' as const, input: { ...input } })),
  ];
}

/** Loads a synthetic fleet through the same all-or-nothing apply that config directories use. */
export async function seedFleet(registry: RegistryService, actor: Actor, fleet: Fleet): Promise<{ create: number; update: number; delete: number }> {
  const result = await registry.applyConfig(actor, fleetDocuments(fleet) as DesiredEntry[], { prune: false, dryRun: false, reason: 'demo fleet' });
  return result.summary;
}
