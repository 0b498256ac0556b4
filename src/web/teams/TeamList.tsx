import type { TeamPool } from '../../launch/quota.js';
import type { Team } from '../../registry/team.js';
import { useApi } from '../api/useApi.js';
import { ErrorBox, Loading } from '../components/PageState.js';
import { fmt, teamHref } from '../components/format.js';
import type { FleetStability } from '../overview/apiTypes.js';
import { registryHref } from '../overview/describe.js';
import { PoolBar, PoolLegend, POLICY } from './pool.js';

const REFRESH_MS = 10_000;

/** Every team with its virtual pool, launch policy, on-call rotation, models and members. */
export function TeamList() {
  const pools = useApi<{ items: TeamPool[] }>('/quotas', {}, REFRESH_MS);
  const teams = useApi<{ items: Team[]; nextCursor: string | null }>('/teams', { limit: 1000 });
  const stability = useApi<FleetStability>('/stability', {}, REFRESH_MS);

  const teamByName = new Map((teams.data?.items ?? []).map((t) => [t.name, t]));
  const stabilityByTeam = new Map((stability.data?.byTeam ?? []).map((r) => [r.key, r]));
  return (
    <section aria-labelledby="teams-title">
      <div class="page-header">
        <h1 id="teams-title">Teams</h1>
        <span class="muted">refreshes every 10 s</span>
      </div>
      <p class="muted">
        A team's <strong>virtual pool</strong> is its capacity quota in units (replicas × unit cost). Its live models use part of it, its running launches
        reserve more, and new launches may take what is free. Only platform admins change quotas and launch policies.
      </p>
      {pools.error && <ErrorBox error={pools.error} title="Could not load the teams' pools" />}
      {teams.error && <ErrorBox error={teams.error} title="Could not load the teams" />}
      {!pools.data ? (
        pools.loading && <Loading what="teams" />
      ) : pools.data.items.length === 0 ? (
        <p class="callout">No teams yet. An admin creates one with POST /api/v1/teams or a config file (<code>kind: Team</code>) applied with <code>modelfleet apply</code>.</p>
      ) : (
        <div class="panel">
          <PoolLegend />
          <table data-testid="teams">
            <thead>
              <tr>
                <th scope="col">Team</th>
                <th scope="col">On-call rotation</th>
                <th scope="col">Launch policy</th>
                <th scope="col">Virtual pool (capacity units)</th>
                <th scope="col">Models</th>
                <th scope="col" class="num">
                  Members
                </th>
              </tr>
            </thead>
            <tbody>
              {pools.data.items.map((pool) => {
                const team = teamByName.get(pool.team);
                const health = stabilityByTeam.get(pool.team);
                return (
                  <tr key={pool.team} data-team={pool.team}>
                    <th scope="row" class="row-head">
                      <a href={teamHref(pool.team)}>{pool.team}</a>
                      {team?.description && <div class="fine muted desc">{team.description}</div>}
                    </th>
                    <td>{team ? team.oncallRotation ?? <span class="error-text">none</span> : '—'}</td>
                    <td>{POLICY[pool.launchPolicy].label}</td>
                    <td>
                      <PoolBar pool={pool} />
                    </td>
                    <td>
                      {health ? (
                        <>
                          <a href={registryHref({ team: pool.team })}>{fmt.int(health.models)} monitored</a>
                          {health.unstable > 0 && (
                            <div>
                              <a class="error-text" href={registryHref({ team: pool.team, status: 'unstable' })}>
                                {fmt.int(health.unstable)} unstable
                              </a>
                            </div>
                          )}
                        </>
                      ) : (
                        <span class="muted">none monitored</span>
                      )}
                      <div class="fine muted">{pool.models.length} holding capacity</div>
                    </td>
                    <td class="num">{team ? fmt.int(team.members.length) : '—'}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
