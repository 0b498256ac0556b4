import type { ComponentChildren } from 'preact';
import type { Alert } from '../../alerting/alert.js';
import type { Launch } from '../../launch/launch.js';
import type { CoverageReport, FleetStability, ModelSlo } from './apiTypes.js';
import type { ApiState } from '../api/useApi.js';
import { useApi } from '../api/useApi.js';
import { ErrorBox, Loading } from '../components/PageState.js';
import { fmt } from '../components/format.js';
import { AlertsPanel, worstFirst } from './AlertsPanel.js';
import { CoverageGaps } from './CoverageGaps.js';
import { registryHref, surfaceFilter } from './describe.js';
import { LaunchesInFlight } from './LaunchesInFlight.js';
import { SloBudgets } from './SloBudgets.js';
import { RollupTable, tierLabel } from './StabilityRollups.js';
import { UnstableModels } from './UnstableModels.js';

const REFRESH_MS = 10_000;

/** Shows a panel once its data is in; its error (with the API's message) beside the last data it had. */
function Loaded<T>({ state, what, children }: { state: ApiState<T>; what: string; children: (data: T) => ComponentChildren }) {
  return (
    <>
      {state.error && <ErrorBox error={state.error} title={`Could not load ${what}`} />}
      {state.data ? children(state.data) : state.loading ? <Loading what={what} /> : null}
    </>
  );
}

interface StatProps {
  label: string;
  value: number | null | undefined;
  hint: string;
  testId: string;
  href?: string;
  tone?: 'bad' | 'warn' | 'ok' | undefined;
}

function Stat({ label, value, hint, testId, href, tone }: StatProps) {
  return (
    <li class={`panel stat${tone ? ` tone-${tone}` : ''}`}>
      <span class="value" data-testid={testId}>
        {fmt.int(value)}
      </span>
      <span class="label">{href ? <a href={href}>{label}</a> : label}</span>
      <span class="hint">{hint}</span>
    </li>
  );
}

/** One sentence that answers "is the fleet OK, and if not, where?". */
function Verdict({ stability, alerts }: { stability: FleetStability; alerts: Alert[] }) {
  const unstable = stability.models.unstable;
  if (stability.at === null) {
    return (
      <p class="callout">
        No stability evaluation yet. Models are judged once labeled predictions arrive (<code>POST /api/v1/events</code>) for models with thresholds.
      </p>
    );
  }
  if (unstable === 0 && alerts.length === 0) {
    return (
      <p class="callout ok" data-testid="verdict">
        <strong>The fleet is OK.</strong> No monitored model is unstable and no alert is firing.
      </p>
    );
  }
  const worstAlert = worstFirst(alerts)[0];
  const where = stability.bySurface.filter((r) => r.unstable > 0).slice(0, 3);
  return (
    <p class="callout bad" data-testid="verdict">
      <strong>
        {unstable} {unstable === 1 ? 'model' : 'models'} unstable, {alerts.length} {alerts.length === 1 ? 'alert' : 'alerts'} firing
        {worstAlert ? ` (worst: ${worstAlert.details.tier})` : ''}.
      </strong>
      {where.length > 0 && (
        <>
          {' '}
          Where:{' '}
          {where.map((r, i) => (
            <span key={r.key}>
              {i > 0 && ', '}
              <a href={registryHref({ ...surfaceFilter(r.key), status: 'unstable' })}>
                {r.key} ({r.unstable})
              </a>
            </span>
          ))}
          .
        </>
      )}
    </p>
  );
}

/** The fleet at a glance for the platform team and on-call: health, alerts, budgets, launches, coverage. */
export function OverviewPage() {
  const stability = useApi<FleetStability>('/stability', {}, REFRESH_MS);
  const alerts = useApi<{ items: Alert[] }>('/alerts', { state: 'firing' }, REFRESH_MS);
  const slos = useApi<{ at: number | null; items: ModelSlo[] }>('/slos', {}, REFRESH_MS);
  const launches = useApi<{ items: Launch[] }>('/launches', { active: 'true' }, REFRESH_MS);
  const coverage = useApi<CoverageReport>('/monitoring/coverage', {}, REFRESH_MS);

  const models = stability.data?.models;
  const firing = alerts.data?.items;
  return (
    <section aria-labelledby="overview-title">
      <div class="page-header">
        <h1 id="overview-title">Fleet overview</h1>
        <span class="muted">
          {stability.data?.at ? <>last evaluated {fmt.ago(stability.data.at)} ({fmt.time(stability.data.at)})</> : 'not evaluated yet'} · refreshes every 10 s
        </span>
      </div>

      <ul class="overview-stats" aria-label="Fleet counts">
        <Stat label="Models monitored" value={models?.monitored} hint="live, with thresholds" testId="stat-monitored" />
        <Stat label="Stable" value={models?.stable} hint="every task within its bands" testId="stat-stable" tone={models && models.stable > 0 ? 'ok' : undefined} />
        <Stat
          label="Unstable"
          value={models?.unstable}
          hint="some task out of band"
          testId="stat-unstable"
          href={registryHref({ status: 'unstable' })}
          tone={models && models.unstable > 0 ? 'bad' : undefined}
        />
        <Stat label="Insufficient data" value={models?.insufficientData} hint="too few labeled events to judge" testId="stat-insufficient" />
        <Stat label="Unmonitored" value={models?.unmonitored} hint="live, without thresholds" testId="stat-unmonitored" tone={models && models.unmonitored > 0 ? 'warn' : undefined} />
        <Stat label="Alerts firing" value={firing?.length} hint="worst tier first, below" testId="stat-alerts" href="#alerts" tone={firing && firing.length > 0 ? 'bad' : undefined} />
        <Stat label="Launches in flight" value={launches.data?.items.length} hint="not finished" testId="stat-launches" href="/launches" />
        <Stat
          label="Coverage gaps"
          value={coverage.data?.gaps.length}
          hint="missing thresholds, routing or on-call"
          testId="stat-gaps"
          href="#coverage"
          tone={coverage.data && coverage.data.gaps.length > 0 ? 'warn' : undefined}
        />
      </ul>

      {stability.error && <ErrorBox error={stability.error} title="Could not load fleet stability" />}
      {stability.data && firing && <Verdict stability={stability.data} alerts={firing} />}

      <Loaded state={alerts} what="alerts">
        {(data) => <AlertsPanel alerts={data.items} />}
      </Loaded>

      <h2 class="band-title">Stability across the fleet</h2>
      {stability.data && stability.data.models.monitored === 0 ? (
        <p class="callout">No monitored models yet: a live model is monitored once it has thresholds for its tasks (set them, or learn them with <code>modelfleet thresholds learn MODEL</code>).</p>
      ) : stability.data ? (
        <div class="rollup-grid">
          <RollupTable title="By surface" dimension="Surface" rows={stability.data.bySurface} filterOf={surfaceFilter} labelOf={(key) => key} testId="by-surface" />
          <RollupTable title="By funnel stage" dimension="Funnel stage" rows={stability.data.byFunnelStage} filterOf={(stage) => ({ stage })} testId="by-stage" />
          <RollupTable title="By tier" dimension="Tier" rows={stability.data.byTier} filterOf={(tier) => ({ tier })} labelOf={tierLabel} testId="by-tier" />
          <RollupTable title="By team" dimension="Team" rows={stability.data.byTeam} filterOf={(team) => ({ team })} labelOf={(team) => team} testId="by-team" />
        </div>
      ) : (
        stability.loading && <Loading what="fleet stability" />
      )}

      {stability.data && stability.data.at !== null && <UnstableModels unstable={stability.data.unstable} />}

      <div class="grid cols-2">
        <div>
          <Loaded state={slos} what="SLOs">
            {(data) => <SloBudgets items={data.items} />}
          </Loaded>
        </div>
        <div>
          <Loaded state={launches} what="launches">
            {(data) => <LaunchesInFlight launches={data.items} />}
          </Loaded>
        </div>
      </div>

      <Loaded state={coverage} what="monitoring coverage">
        {(data) => <CoverageGaps report={data} />}
      </Loaded>
    </section>
  );
}
