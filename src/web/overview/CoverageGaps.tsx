import type { CoverageGap, CoverageReport } from './apiTypes.js';
import { TierBadge } from '../components/Badges.js';
import { modelHref } from '../components/format.js';

const SHOWN_MODELS = 5;
const KIND_LABEL: Record<CoverageGap['kind'], string> = { thresholds: 'no thresholds', routing: 'alerts reach no one', oncall: 'no on-call' };

/** The gaps grouped by model, in the report's (model id) order. */
function byModel(gaps: readonly CoverageGap[]): Array<{ model: string; tier: string; gaps: CoverageGap[] }> {
  const models = new Map<string, { model: string; tier: string; gaps: CoverageGap[] }>();
  for (const gap of gaps) {
    const entry = models.get(gap.model) ?? { model: gap.model, tier: gap.tier, gaps: [] };
    entry.gaps.push(gap);
    models.set(gap.model, entry);
  }
  return [...models.values()];
}

/** Live models nothing watches well: no thresholds, alerts routed nowhere, or no fitting on-call. */
export function CoverageGaps({ report }: { report: CoverageReport }) {
  const models = byModel(report.gaps);
  const count = (kind: CoverageGap['kind']) => report.gaps.filter((g) => g.kind === kind).length;
  return (
    <section class="panel spaced" id="coverage" aria-labelledby="coverage-title">
      <h2 id="coverage-title">Coverage gaps {report.gaps.length > 0 && <span class="count-pill warn">{report.gaps.length}</span>}</h2>
      {report.models === 0 ? (
        <p class="callout">
          No live models to watch yet. Register model types and models (<code>modelfleet apply DIR</code> with config files, or POST /api/v1/model-types and
          /models); each one with thresholds for its tasks is then monitored.
        </p>
      ) : (
        <p>
          {report.covered} of {report.models} live models are fully covered: thresholds for every task, alerts that reach a receiver, and an on-call that fits
          their tier.
        </p>
      )}
      {report.models === 0 ? null : report.gaps.length === 0 ? (
        <p class="callout ok">No gaps: every live model is watched.</p>
      ) : (
        <>
          <p class="fine">
            {count('thresholds')} without thresholds · {count('routing')} with alerts routed nowhere · {count('oncall')} without a fitting on-call. Showing the
            first {Math.min(SHOWN_MODELS, models.length)} of {models.length} models; <code>modelfleet monitoring coverage</code> lists them all.
          </p>
          <table data-testid="coverage">
            <thead>
              <tr>
                <th scope="col">Model</th>
                <th scope="col">Tier</th>
                <th scope="col">Missing</th>
                <th scope="col">How to fix</th>
              </tr>
            </thead>
            <tbody>
              {models.slice(0, SHOWN_MODELS).map((m) => (
                <tr key={m.model}>
                  <td>
                    <a href={modelHref(m.model)}>{m.model}</a>
                  </td>
                  <td>
                    <TierBadge tier={m.tier} />
                  </td>
                  <td>
                    {m.gaps.map((g) => (
                      <span key={g.kind} class="badge warn gap-kind">
                        {KIND_LABEL[g.kind]}
                      </span>
                    ))}
                  </td>
                  <td class="fine">
                    <ul class="bare">
                      {m.gaps.map((g) => (
                        <li key={g.kind}>{g.fix}</li>
                      ))}
                    </ul>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      {report.notes.length > 0 && (
        <ul class="fine muted">
          {report.notes.map((note) => (
            <li key={note}>{note}</li>
          ))}
        </ul>
      )}
    </section>
  );
}
