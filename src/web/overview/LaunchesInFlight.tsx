import type { Launch } from '../../launch/launch.js';
import { isTerminal } from '../../launch/launchPhase.js';
import { PhaseBadge } from '../components/Badges.js';
import { fmt, launchHref, modelHref, teamHref } from '../components/format.js';
import { stepText } from '../launches/launchView.js';


/** Launches that have not finished, with phase, progress and the candidate's share of traffic. */
export function LaunchesInFlight({ launches }: { launches: Launch[] }) {
  const live = launches.filter((l) => !isTerminal(l.phase));
  return (
    <section class="panel spaced" aria-labelledby="launches-title">
      <h2 id="launches-title">Launches in flight {live.length > 0 && <span class="count-pill">{live.length}</span>}</h2>
      {live.length === 0 ? (
        <p class="callout">
          No launches in flight. Start one with <code>modelfleet launch start --model-type TYPE --candidate TYPE:VERSION</code> (or POST /api/v1/launches); it
          estimates capacity, checks the team's quota and shifts traffic in steps.
        </p>
      ) : (
        <table data-testid="launches">
          <thead>
            <tr>
              <th scope="col">Launch</th>
              <th scope="col">Phase</th>
              <th scope="col">Progress</th>
              <th scope="col" class="num">
                Candidate share
              </th>
            </tr>
          </thead>
          <tbody>
            {live.map((l) => (
              <tr key={l.id}>
                <td>
                  <a href={launchHref(l.id)}>{l.modelType}</a>
                  <div class="fine">
                    candidate <a href={modelHref(l.candidate)}>{l.candidate.slice(l.modelType.length + 1) || l.candidate}</a> · team{' '}
                    <a href={teamHref(l.team)}>{l.team}</a>
                    <span class="muted"> · started {fmt.ago(l.createdAt)}</span>
                  </div>
                </td>
                <td>
                  <PhaseBadge phase={l.phase} />
                </td>
                <td class="nowrap">{stepText(l)}</td>
                <td class="num">{fmt.pct(l.traffic.candidate, 0)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
