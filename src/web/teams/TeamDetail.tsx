import type { Launch } from '../../launch/launch.js';
import type { TeamPool } from '../../launch/quota.js';
import type { ModelType } from '../../registry/modelType.js';
import type { Team } from '../../registry/team.js';
import { useSession } from '../app/session.js';
import { useApi } from '../api/useApi.js';
import { PhaseBadge, RoleBadge, TierBadge } from '../components/Badges.js';
import { ErrorBox, Loading } from '../components/PageState.js';
import { fmt, launchHref, modelHref } from '../components/format.js';
import type { FleetStability } from '../overview/apiTypes.js';
import { registryHref, units, words } from '../overview/describe.js';
import { stepText } from '../launches/launchView.js';
import { NO_QUOTA, PoolBar, PoolLegend, POLICY } from './pool.js';
import { TeamSettings } from './TeamSettings.js';

const REFRESH_MS = 10_000;
const SHOWN_POOL_MODELS = 10;

interface Member {
  name: string;
  role: string;
  createdAt: string;
}

function PoolModels({ pool }: { pool: TeamPool }) {
  if (pool.models.length === 0) return <p class="muted">No live model of this team has a capacity profile, so none holds units of the pool.</p>;
  const rows = (models: TeamPool['models']) =>
    models.map((m) => (
      <tr key={m.id}>
        <td>
          <a href={modelHref(m.id)}>{m.id}</a>
        </td>
        <td>
          <RoleBadge role={m.role} />
        </td>
        <td class="num">{fmt.int(m.replicas)}</td>
        <td class="num">{units(m.unitCost)}</td>
        <td class="num">{units(m.units)}</td>
      </tr>
    ));
  const table = (models: TeamPool['models'], caption: string) => (
    <table>
      <caption class="visually-hidden">{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Model</th>
          <th scope="col">Role</th>
          <th scope="col" class="num">
            Replicas
          </th>
          <th scope="col" class="num">
            Unit cost
          </th>
          <th scope="col" class="num">
            Units
          </th>
        </tr>
      </thead>
      <tbody>{rows(models)}</tbody>
    </table>
  );
  const rest = pool.models.slice(SHOWN_POOL_MODELS);
  return (
    <>
      <h3>Models holding capacity, largest first</h3>
      {table(pool.models.slice(0, SHOWN_POOL_MODELS), 'The largest models in the pool')}
      {rest.length > 0 && (
        <details>
          <summary>{rest.length} more</summary>
          {table(rest, 'The other models in the pool')}
        </details>
      )}
    </>
  );
}

function ModelTypes({ types }: { types: ModelType[] }) {
  if (types.length === 0) return <p class="muted">This team owns no model types yet.</p>;
  return (
    <table data-testid="team-types">
      <thead>
        <tr>
          <th scope="col">Model type</th>
          <th scope="col">Tier</th>
          <th scope="col">Funnel stage</th>
          <th scope="col">Baseline</th>
          <th scope="col">On-call</th>
        </tr>
      </thead>
      <tbody>
        {types.map((t) => (
          <tr key={t.name}>
            <td>
              <a href={registryHref({ q: t.name })}>{t.name}</a>
              <div class="fine muted">{t.description}</div>
            </td>
            <td>
              <TierBadge tier={t.criticality} />
            </td>
            <td>{words(t.funnelStage)}</td>
            <td>{t.baselineModelId ? <a href={modelHref(t.baselineModelId)}>{t.baselineModelId}</a> : <span class="muted">none</span>}</td>
            <td>
              {t.oncall.rotation} <span class="muted">({words(t.oncall.coverage)})</span>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function TeamLaunches({ launches }: { launches: Launch[] }) {
  if (launches.length === 0) return <p class="muted">No launches yet. A member starts one with <code>modelfleet launch start --model-type TYPE --candidate TYPE:VERSION</code>.</p>;
  return (
    <table data-testid="team-launches">
      <thead>
        <tr>
          <th scope="col">Launch</th>
          <th scope="col">Phase</th>
          <th scope="col">Progress</th>
          <th scope="col" class="num">
            Candidate share
          </th>
          <th scope="col" class="num">
            Reserved units
          </th>
          <th scope="col">Started</th>
        </tr>
      </thead>
      <tbody>
        {launches.map((l) => (
          <tr key={l.id}>
            <td>
              <a href={launchHref(l.id)}>{l.candidate}</a>
            </td>
            <td>
              <PhaseBadge phase={l.phase} />
            </td>
            <td>{l.finishedAt ? <span class="muted">finished {fmt.ago(l.finishedAt)}</span> : stepText(l)}</td>
            <td class="num">{fmt.pct(l.traffic.candidate, 0)}</td>
            <td class="num">{units(l.reservedUnits)}</td>
            <td>
              <time dateTime={l.createdAt} title={fmt.time(l.createdAt)}>
                {fmt.ago(l.createdAt)}
              </time>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Members({ members, team }: { members: Member[]; team: string }) {
  if (members.length === 0) {
    return (
      <p class="muted">
        No member tokens yet. An admin issues one with <code>modelfleet tokens create NAME --role member --team {team}</code>.
      </p>
    );
  }
  return (
    <table data-testid="team-members">
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Role</th>
          <th scope="col">Member since</th>
        </tr>
      </thead>
      <tbody>
        {members.map((m) => (
          <tr key={m.name}>
            <td>{m.name}</td>
            <td>{m.role}</td>
            <td>
              <time dateTime={m.createdAt}>{fmt.time(m.createdAt)}</time>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** One team: its pool and who may change it, its stability, model types, launches and members. */
export function TeamDetail({ name }: { name: string }) {
  const { actor } = useSession();
  const path = `/teams/${encodeURIComponent(name)}`;
  const team = useApi<Team>(path);
  const pool = useApi<TeamPool>(`${path}/quota`, {}, REFRESH_MS);
  const members = useApi<{ items: Member[] }>(`${path}/members`);
  const types = useApi<{ items: ModelType[]; nextCursor: string | null }>('/model-types', { ownerTeam: name, limit: 1000 });
  const launches = useApi<{ items: Launch[] }>('/launches', { team: name, limit: 20 }, REFRESH_MS);
  const stability = useApi<FleetStability>('/stability', {}, REFRESH_MS);

  if (team.error && !team.data) {
    return (
      <section aria-labelledby="team-title">
        <h1 id="team-title">Team {name}</h1>
        <ErrorBox error={team.error} title={team.error.status === 404 ? 'No such team' : 'Could not load the team'} />
        <p>
          <a href="/teams">All teams</a>
        </p>
      </section>
    );
  }
  if (!team.data) return <Loading what={`team ${name}`} />;
  const t = team.data;
  const health = stability.data?.byTeam.find((r) => r.key === name);
  const isAdmin = actor?.role === 'admin';
  return (
    <section aria-labelledby="team-title">
      <div class="page-header">
        <h1 id="team-title">{t.name}</h1>
        <span class="muted">{t.description}</span>
        <div class="actions">
          <a href="/teams">All teams</a>
        </div>
      </div>

      <dl class="team-facts panel spaced">
        <div>
          <dt>On-call rotation</dt>
          <dd>{t.oncallRotation ?? <span class="error-text">none: alerts for its models reach no rotation</span>}</dd>
        </div>
        <div>
          <dt>Launch policy</dt>
          <dd data-testid="team-policy">
            <strong>{POLICY[t.launchPolicy].label}</strong>: {POLICY[t.launchPolicy].meaning}
          </dd>
        </div>
        <div>
          <dt>Quota</dt>
          <dd data-testid="team-quota">{t.quota === null ? NO_QUOTA : `${units(t.quota)} capacity units`}</dd>
        </div>
        <div>
          <dt>Stability</dt>
          <dd>
            {health ? (
              <>
                <a href={registryHref({ team: name })}>{fmt.int(health.models)} monitored</a> · {fmt.int(health.stable)} stable ·{' '}
                {health.unstable > 0 ? (
                  <a class="error-text" href={registryHref({ team: name, status: 'unstable' })}>
                    {fmt.int(health.unstable)} unstable
                  </a>
                ) : (
                  '0 unstable'
                )}{' '}
                · {fmt.int(health.insufficientData)} insufficient data
              </>
            ) : (
              <span class="muted">no monitored models</span>
            )}
          </dd>
        </div>
      </dl>

      <section class="panel spaced" aria-labelledby="pool-title">
        <h2 id="pool-title">Virtual pool</h2>
        {pool.error && <ErrorBox error={pool.error} title="Could not load the pool" />}
        {pool.data ? (
          <>
            <PoolBar pool={pool.data} />
            {pool.data.quota !== null && <PoolLegend />}
            <PoolModels pool={pool.data} />
          </>
        ) : (
          pool.loading && <Loading what="the pool" />
        )}
      </section>

      {isAdmin ? (
        <TeamSettings
          team={t}
          pool={pool.data}
          onChanged={() => {
            team.reload();
            pool.reload();
          }}
        />
      ) : (
        <p class="muted" data-testid="settings-read-only">
          Only platform admins change a team's quota and launch policy.
        </p>
      )}

      <section class="panel spaced" aria-labelledby="types-title">
        <h2 id="types-title">Model types {types.data && <span class="count-pill">{types.data.items.length}</span>}</h2>
        {types.error && <ErrorBox error={types.error} title="Could not load the model types" />}
        {types.data ? <ModelTypes types={types.data.items} /> : types.loading && <Loading what="model types" />}
      </section>

      <section class="panel spaced" aria-labelledby="team-launches-title">
        <h2 id="team-launches-title">Launches</h2>
        {launches.error && <ErrorBox error={launches.error} title="Could not load the launches" />}
        {launches.data ? <TeamLaunches launches={launches.data.items} /> : launches.loading && <Loading what="launches" />}
      </section>

      <section class="panel spaced" aria-labelledby="members-title">
        <h2 id="members-title">Members {members.data && <span class="count-pill">{members.data.items.length}</span>}</h2>
        <p class="muted fine">The team's member tokens: each may change the team's model types and models, and start their launches.</p>
        {members.error && <ErrorBox error={members.error} title="Could not load the members" />}
        {members.data ? <Members members={members.data.items} team={name} /> : members.loading && <Loading what="members" />}
      </section>
    </section>
  );
}
