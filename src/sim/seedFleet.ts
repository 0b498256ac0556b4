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

/**
 * A little history on top of the seeded fleet, so the demo shows what a living registry looks like:
 * an experiment's traffic raised with a reason, and a team asking for a TIER1 elevation that waits
 * for a platform admin.
 */
export async function seedDemoActivity(registry: RegistryService, fleet: Fleet): Promise<void> {
  const experiment = fleet.models.find((m) => m.role === 'experiment' && (m.trafficShare ?? 0) > 0);
  const baseline = experiment && fleet.models.find((m) => m.role === 'baseline' && m.id.split(':')[0] === experiment.id.split(':')[0] && (m.trafficShare ?? 0) > 0.1);
  if (experiment && baseline) {
    const owner = fleet.modelTypes.find((t) => t.name === experiment.id.split(':')[0])!.ownerTeam;
    const member: Actor = { name: `${owner}-bot`, role: 'member', team: owner };
    // Moving traffic touches two models; one transaction keeps the shares valid at every instant.
    const shift = (share: number | undefined, delta: number) => Number(((share ?? 0) + delta).toFixed(2));
    await registry.execute(
      member,
      [
        { action: 'patch', kind: 'model', key: baseline.id, mergePatch: { trafficShare: shift(baseline.trafficShare, -0.01) } },
        { action: 'patch', kind: 'model', key: experiment.id, mergePatch: { trafficShare: shift(experiment.trafficShare, 0.01) } },
      ],
      { reason: 'ramp experiment after a clean week' },
    );
  }
  const candidate = fleet.modelTypes.find((t) => t.criticality === 'TIER2');
  if (candidate) {
    const member: Actor = { name: `${candidate.ownerTeam}-lead`, role: 'member', team: candidate.ownerTeam };
    await registry.write(
      member,
      'modelType',
      {
        action: 'patch',
        kind: 'modelType',
        key: candidate.name,
        mergePatch: {
          criticality: 'TIER1',
          oncall: { rotation: candidate.oncall.rotation, coverage: '24x7' },
          criticalityJustification: { businessMetrics: ['time_spent', 'daily_active_users'], rationale: 'now serves the majority of sessions on its surface' },
        },
      },
      'surface traffic doubled this quarter',
    );
  }
}
