import type { Model } from '../registry/model.js';
import type { RegistryService } from '../registry/registryService.js';
import type { Team } from '../registry/team.js';
import { teamPoolUsage, type TeamPool } from './quota.js';

/** Capacity units a team's running launches hold; the launch engine answers it. */
export interface LaunchReservations {
  /** Units reserved by the team's unfinished launches, leaving out `exceptLaunch` when given. */
  reservedBy(team: string, exceptLaunch?: string | null): Promise<number>;
}

/** For a fleet without launches: nothing is reserved. */
export const noReservations: LaunchReservations = { reservedBy: async () => 0 };

const PAGE = 1000;

/** Follows cursor pages to the end. */
async function allPages<T>(read: (cursor: string | null) => Promise<{ items: T[]; nextCursor: string | null }>): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const page = await read(cursor);
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return items;
}

/** Teams' virtual pools, read from the registry (quotas, the teams' models) and the running launches. */
export class QuotaService {
  constructor(
    private readonly registry: RegistryService,
    private reservations: LaunchReservations = noReservations,
  ) {}

  /** Counts what running launches reserve; the launch engine is wired after this service. */
  useReservations(reservations: LaunchReservations): void {
    this.reservations = reservations;
  }

  /**
   * One team's pool. `exceptLaunch` leaves out what that launch reserves, so a launch can ask how
   * much it may hold besides what it already has. Throws not_found for an unknown team.
   */
  async pool(team: string, options: { exceptLaunch?: string | null } = {}): Promise<TeamPool> {
    const entry = await this.registry.getTeam(team);
    const models = await allPages((cursor) => this.registry.listModels({ limit: PAGE, cursor, ownerTeam: team }));
    return this.poolOf(entry, models, options.exceptLaunch ?? null);
  }

  /** Every team's pool, in team name order. */
  async pools(): Promise<TeamPool[]> {
    const teams = await allPages((cursor) => this.registry.listTeams({ limit: PAGE, cursor }));
    const owners = new Map(
      (await allPages((cursor) => this.registry.listModelTypes({ limit: PAGE, cursor }))).map((t) => [t.name, t.ownerTeam] as const),
    );
    const modelsByTeam = new Map<string, Model[]>();
    for (const model of await allPages((cursor) => this.registry.listModels({ limit: PAGE, cursor }))) {
      const owner = owners.get(model.modelType);
      if (owner === undefined) continue;
      const list = modelsByTeam.get(owner);
      if (list) list.push(model);
      else modelsByTeam.set(owner, [model]);
    }
    return Promise.all(teams.map((team) => this.poolOf(team, modelsByTeam.get(team.name) ?? [], null)));
  }

  private async poolOf(team: Team, models: readonly Model[], exceptLaunch: string | null): Promise<TeamPool> {
    const reserved = await this.reservations.reservedBy(team.name, exceptLaunch);
    return teamPoolUsage({ team, models, reservations: [reserved] });
  }
}
