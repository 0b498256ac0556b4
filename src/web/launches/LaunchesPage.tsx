import { useLocation } from 'preact-iso';
import type { Launch } from '../../launch/launch.js';
import { useApi } from '../api/useApi.js';
import { PhaseBadge } from '../components/Badges.js';
import { fmt, launchHref, teamHref } from '../components/format.js';
import { ErrorBox, Loading } from '../components/PageState.js';
import { endMs, stepText } from './launchView.js';

type Group = 'all' | 'active' | 'finished';
const GROUPS: Record<Group, string> = { all: 'In flight and finished', active: 'In flight', finished: 'Finished' };
const REFRESH_MS = 3000;

/** Every launch, those in flight first, then the finished ones, newest first; filtered by phase group and team in the URL. */
export function LaunchesPage() {
  const { path, query, route } = useLocation();
  const group: Group = query['phase'] === 'active' || query['phase'] === 'finished' ? query['phase'] : 'all';
  const team = query['team'] ?? '';
  const active = useApi<{ items: Launch[] }>(group === 'finished' ? null : '/launches', { active: 'true', team, limit: 200 }, REFRESH_MS);
  const finished = useApi<{ items: Launch[] }>(group === 'active' ? null : '/launches', { active: 'false', team, limit: 50 }, REFRESH_MS);
  const teams = useApi<{ items: Array<{ name: string }> }>('/teams', { limit: 1000 });

  const setFilter = (key: 'phase' | 'team', value: string) => {
    const next = new URLSearchParams({ ...(group !== 'all' ? { phase: group } : {}), ...(team ? { team } : {}) });
    if (value && value !== 'all') next.set(key, value);
    else next.delete(key);
    const qs = next.toString();
    route(`${path}${qs ? `?${qs}` : ''}`, true);
  };

  // A list the filter hides keeps its last answer in its hook: only the shown ones count.
  const shown = [...(group !== 'finished' ? [active] : []), ...(group !== 'active' ? [finished] : [])];
  const error = shown.find((s) => s.error)?.error ?? null;
  const loading = shown.some((s) => !s.data);
  const none = !loading && shown.every((s) => s.data!.items.length === 0);

  return (
    <section aria-labelledby="launches-title">
      <header class="page-header">
        <h1 id="launches-title">Launches</h1>
        <p class="muted launch-intro">
          A launch measures the candidate's replicas and cost, gets approval within the team's quota, then moves traffic from the baseline step by step, each step behind health gates. Refreshed every 3 s.
        </p>
      </header>
      <form class="launch-filters" aria-label="Filter launches" onSubmit={(e) => e.preventDefault()}>
        <div>
          <label for="launch-phase">Show</label>
          <select id="launch-phase" value={group} onChange={(e) => setFilter('phase', (e.target as HTMLSelectElement).value)}>
            {(Object.keys(GROUPS) as Group[]).map((g) => (
              <option key={g} value={g}>
                {GROUPS[g]}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="launch-team">Team</label>
          <select id="launch-team" value={team} onChange={(e) => setFilter('team', (e.target as HTMLSelectElement).value)}>
            <option value="">All teams</option>
            {team && !teams.data?.items.some((t) => t.name === team) && <option value={team}>{team}</option>}
            {teams.data?.items.map((t) => (
              <option key={t.name} value={t.name}>
                {t.name}
              </option>
            ))}
          </select>
        </div>
      </form>
      {error && <ErrorBox error={error} title="Could not load the launches" />}
      {loading && !error && <Loading what="launches" />}
      {none && <EmptyState filtered={group !== 'all' || team !== ''} />}
      {!loading && !none && (
        <>
          {group !== 'finished' && <LaunchTable title="In flight" items={active.data?.items ?? []} empty="No launch is in flight." />}
          {group !== 'active' && <LaunchTable title="Finished" items={finished.data?.items ?? []} empty="No launch has finished yet." note="the latest 50" />}
        </>
      )}
    </section>
  );
}

function EmptyState({ filtered }: { filtered: boolean }) {
  if (filtered) return <p class="callout">No launch matches these filters.</p>;
  return (
    <div class="callout launch-empty">
      <p>
        <strong>No launches yet.</strong> A member of the team owning a model type (or an admin) starts one from the command line; it then runs by itself and shows here:
      </p>
      <pre class="command">
        <code>npx modelfleet launch start --model-type ig_feed_main_mtml --candidate ig_feed_main_mtml:v13 --executor simulated --follow</code>
      </pre>
      <p class="muted">
        The same is <code>POST /api/v1/launches</code>. <code>--executor local</code> runs real model-server processes, <code>kubernetes</code> a cluster.
      </p>
    </div>
  );
}

function LaunchTable({ title, items, empty, note }: { title: string; items: Launch[]; empty: string; note?: string }) {
  const id = `launches-${title.toLowerCase().replace(/\s+/g, '-')}`;
  return (
    <section class="panel launch-list" aria-labelledby={id}>
      <h2 id={id}>
        {title} <span class="muted">({items.length}{note ? `, ${note}` : ''})</span>
      </h2>
      {items.length === 0 ? (
        <p class="muted">{empty}</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Candidate → replacing</th>
              <th scope="col">Model type</th>
              <th scope="col">Team</th>
              <th scope="col">Executor</th>
              <th scope="col">Phase</th>
              <th scope="col">Progress</th>
              <th scope="col" class="num">Candidate share</th>
              <th scope="col">Started</th>
              <th scope="col" class="num">Duration</th>
            </tr>
          </thead>
          <tbody>
            {items.map((l) => (
              <tr key={l.id}>
                <td>
                  <a href={launchHref(l.id)}>{l.candidate}</a>
                  <div class="muted small">{l.baseline ? <>replacing {l.baseline}</> : 'no baseline before it'}</div>
                </td>
                <td>
                  <code>{l.modelType}</code>
                </td>
                <td>
                  <a href={teamHref(l.team)}>{l.team}</a>
                </td>
                <td>{l.executor}</td>
                <td>
                  <PhaseBadge phase={l.phase} />
                </td>
                <td>{stepText(l)}</td>
                <td class="num">
                  <ShareMeter share={l.traffic.candidate} />
                </td>
                <td>
                  <span title={fmt.time(l.createdAt)}>{fmt.ago(l.createdAt)}</span>
                  <div class="muted small">by {l.createdBy}</div>
                </td>
                <td class="num">{fmt.duration(endMs(l) - Date.parse(l.createdAt))}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** A share as text with a small bar beside it; the text carries the value, the bar is decoration. */
function ShareMeter({ share }: { share: number }) {
  return (
    <span class="share-meter">
      {fmt.pct(share)}
      <span class="bar" aria-hidden="true">
        <span style={{ width: `${Math.max(0, Math.min(1, share)) * 100}%` }} />
      </span>
    </span>
  );
}
