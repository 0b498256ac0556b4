import type { FleetStability } from './apiTypes.js';
import { RoleBadge, TierBadge } from '../components/Badges.js';
import { modelHref, teamHref } from '../components/format.js';
import { describeViolation, registryHref } from './describe.js';

const SHOWN_VIOLATIONS = 4;

/** The models the latest evaluation judged unstable, most critical first, with what is out of band. */
export function UnstableModels({ unstable }: { unstable: FleetStability['unstable'] }) {
  return (
    <section class="panel spaced" aria-labelledby="unstable-title">
      <h2 id="unstable-title">Unstable models {unstable.length > 0 && <span class="count-pill bad">{unstable.length}</span>}</h2>
      <p class="muted fine">
        A model is unstable when some task's calibration (predicted / observed positives, healthy near 1) or normalized entropy (NE, lower is better) is
        outside its healthy band.
      </p>
      {unstable.length === 0 ? (
        <p class="callout ok">Every model with enough labeled data is within its bands.</p>
      ) : (
        <>
          <table data-testid="unstable">
            <thead>
              <tr>
                <th scope="col">Tier</th>
                <th scope="col">Model</th>
                <th scope="col">Role</th>
                <th scope="col">Team</th>
                <th scope="col">Out of band</th>
              </tr>
            </thead>
            <tbody>
              {unstable.map((m) => (
                <tr key={m.model}>
                  <td>
                    <TierBadge tier={m.tier} />
                  </td>
                  <td>
                    <a href={modelHref(m.model)}>{m.model}</a>
                  </td>
                  <td>
                    <RoleBadge role={m.role} />
                  </td>
                  <td>
                    <a href={teamHref(m.team)}>{m.team}</a>
                  </td>
                  <td>
                    <ul class="bare">
                      {m.violations.slice(0, SHOWN_VIOLATIONS).map((v) => (
                        <li key={`${v.task}:${v.metric}`}>{describeViolation(v)}</li>
                      ))}
                      {m.violations.length > SHOWN_VIOLATIONS && <li class="muted">and {m.violations.length - SHOWN_VIOLATIONS} more</li>}
                    </ul>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <p>
            <a href={registryHref({ status: 'unstable' })}>All unstable models in the registry</a>
          </p>
        </>
      )}
    </section>
  );
}
