import { useEffect, useState } from 'preact/hooks';
import { useRoute } from 'preact-iso';
import type { Launch, LaunchEvent } from '../../launch/launch.js';
import { isTerminal } from '../../launch/launchPhase.js';
import { useApi } from '../api/useApi.js';
import { PhaseBadge } from '../components/Badges.js';
import { fmt, modelHref, teamHref } from '../components/format.js';
import { ErrorBox, Loading } from '../components/PageState.js';
import { LaunchActions } from './LaunchActions.js';
import { LaunchCharts } from './LaunchCharts.js';
import { CandidateCapacity, EstimatePanel, EventLog, GatesTable, PlanTable } from './LaunchDetails.js';
import { endMs, signedUnits, stageText, stepText } from './launchView.js';

const REFRESH_MS = 2000;

/** One launch as its engineer watches it move: where it is, what to do, how traffic and replicas moved, why. */
export function LaunchPage() {
  const { params } = useRoute();
  const id = params['id'] ?? '';
  const path = `/launches/${encodeURIComponent(id)}`;
  // A finished launch no longer moves: polling stops once it is.
  const [live, setLive] = useState(true);
  const launch = useApi<Launch>(path, {}, live ? REFRESH_MS : 0);
  const events = useApi<{ items: LaunchEvent[] }>(`${path}/events`);
  useEffect(() => {
    if (launch.data) setLive(!isTerminal(launch.data.phase));
  }, [launch.data?.phase]);
  // The events change only when the launch does: read them again on each new version of it.
  useEffect(() => {
    if (launch.data) events.reload();
  }, [launch.data?.version]);

  if (!launch.data) return launch.error ? <ErrorBox error={launch.error} title={`Could not load launch ${id}`} /> : <Loading what={`launch ${id}`} />;
  const l = launch.data;
  const items = events.data?.items ?? [];
  return (
    <article class="launch-page" aria-labelledby="launch-title">
      <nav aria-label="Breadcrumb" class="breadcrumb">
        <a href="/launches">Launches</a> <span aria-hidden="true">/</span> <span>{l.id}</span>
      </nav>
      <header class="page-header launch-header">
        <div class="launch-heading">
          <h1 id="launch-title">
            <a href={modelHref(l.candidate)}>{l.candidate}</a>{' '}
            {l.baseline ? (
              <>
                <span class="muted-h">replacing</span> <a href={modelHref(l.baseline)}>{l.baseline}</a>
              </>
            ) : (
              <span class="muted-h">as the first baseline</span>
            )}{' '}
            <span class="muted-h">on</span> <code>{l.modelType}</code>
          </h1>
          <p class="launch-status" data-testid="launch-status">
            <PhaseBadge phase={l.phase} /> <strong data-testid="launch-step">{stepText(l)}</strong>
            {stageText(l) && <span class="muted"> · {stageText(l)}</span>}
            {l.phase === 'paused' && l.pausedFrom && <span class="muted"> · held while {l.pausedFrom.replace(/_/g, ' ')}</span>}
          </p>
          <p class="muted launch-meta">
            {l.executor} executor · team <a href={teamHref(l.team)}>{l.team}</a> · started by {l.createdBy} on {fmt.time(l.createdAt)} ({fmt.ago(l.createdAt)}) ·{' '}
            {isTerminal(l.phase) ? 'took' : 'running for'} {fmt.duration(endMs(l) - Date.parse(l.createdAt))}
          </p>
        </div>
        <div class="actions">
          <LaunchActions launch={l} onDone={launch.reload} />
        </div>
      </header>
      {launch.error && <ErrorBox error={launch.error} title="Could not refresh the launch; showing the last answer" />}
      <Outcome launch={l} />
      <Now launch={l} />
      <LaunchCharts launch={l} events={items} />
      <PlanTable launch={l} events={items} />
      <GatesTable launch={l} />
      <div class="grid launch-pair">
        <EstimatePanel launch={l} events={items} />
        <CandidateCapacity launch={l} />
      </div>
      {events.error && <ErrorBox error={events.error} title="Could not load the launch's events" />}
      <EventLog events={items} />
    </article>
  );
}

const ENDED_TITLE = { rolled_back: 'Rolled back', aborted: 'Aborted', failed: 'Failed', rolling_back: 'Rolling back', completed: 'Completed' } as const;

/** How a finished launch ended, first thing on its page; for one still running, what it waits for. */
function Outcome({ launch: l }: { launch: Launch }) {
  if (l.phase === 'completed' && l.summary) {
    const s = l.summary;
    return (
      <section class="callout ok launch-summary" aria-labelledby="summary-title">
        <h2 id="summary-title">
          Completed: {l.candidate} is the baseline of {l.modelType}
        </h2>
        <dl class="summary-stats">
          <div>
            <dt>Duration</dt>
            <dd>{fmt.duration(s.durationSeconds * 1000)}</dd>
          </div>
          <div>
            <dt>Steps</dt>
            <dd>{s.steps}</dd>
          </div>
          <div>
            <dt>Cost change</dt>
            <dd>{s.costChange === null ? 'no baseline to compare with' : signedUnits(s.costChange)}</dd>
          </div>
          <div>
            <dt>Replicas now</dt>
            <dd>{s.replicas}</dd>
          </div>
          <div>
            <dt>Old baseline</dt>
            <dd>{s.retired ? `${s.retired} retired` : s.heldOut ? `${s.heldOut} is the holdout` : '—'}</dd>
          </div>
        </dl>
        {l.promotedBy && <p>Promoted by {l.promotedBy}: the last steps ran without bake or gates.</p>}
      </section>
    );
  }
  if (isTerminal(l.phase) || l.phase === 'rolling_back') {
    const title = ENDED_TITLE[l.phase as keyof typeof ENDED_TITLE] ?? l.phase;
    return (
      <section class="callout bad launch-summary" aria-labelledby="summary-title">
        <h2 id="summary-title">{title}</h2>
        <p>{l.outcome ?? 'No reason was recorded.'}</p>
        <p class="muted">
          {l.step >= 0 ? `It reached ${stepText(l)}; ` : ''}
          {l.phase === 'rolling_back' ? `traffic is going back to ${l.baseline ?? 'the other models'} before the candidate scales down.` : `${l.baseline ?? 'The other models'} ${l.baseline ? 'holds' : 'hold'} ${fmt.pct(l.traffic.baseline)} of the traffic.`}
          {l.finishedAt && ` It ran ${fmt.duration(endMs(l) - Date.parse(l.createdAt))}.`}
        </p>
      </section>
    );
  }
  if (l.phase === 'awaiting_approval') {
    return (
      <section class="callout warn" aria-labelledby="summary-title">
        <h2 id="summary-title">Waiting for approval</h2>
        <p>Why it waits: {l.approval?.reason}.</p>
        {l.expectedGain && <p>Expected gain: {l.expectedGain}</p>}
        <p class="muted">
          Nothing runs until a member of {l.team} or an admin approves. The estimate below gives the replicas and cost; approving starts the first of {l.plan.length} step(s).
        </p>
      </section>
    );
  }
  if (l.phase === 'paused') {
    return (
      <section class="callout warn" aria-labelledby="summary-title">
        <h2 id="summary-title">Paused</h2>
        <p>
          The launch holds where it is: {l.candidate} keeps {fmt.pct(l.traffic.candidate)} of the traffic and nothing moves until someone resumes or aborts it.
        </p>
      </section>
    );
  }
  return null;
}

/** The shares and replicas both models hold now, against where this step takes them. */
function Now({ launch: l }: { launch: Launch }) {
  const step = l.step >= 0 ? l.plan[l.step] : undefined;
  const old = l.baseline ?? 'Other models';
  return (
    <section class="grid cols-4 launch-now" aria-label="Where the launch stands">
      <div class="panel stat">
        <span class="label">Candidate traffic</span>
        <span class="value" data-testid="candidate-share">
          {fmt.pct(l.traffic.candidate)}
        </span>
        <span class="muted small">{step && !isTerminal(l.phase) ? `of the type; step ${l.step + 1} takes it to ${fmt.pct(l.baselineShare * step.share)}` : 'of the type'}</span>
      </div>
      <div class="panel stat">
        <span class="label">{old} traffic</span>
        <span class="value">{fmt.pct(l.traffic.baseline)}</span>
        <span class="muted small">{fmt.pct(l.baselineShare)} at the start</span>
      </div>
      <div class="panel stat">
        <span class="label">Candidate replicas</span>
        <span class="value">{l.replicas.candidate}</span>
        <span class="muted small">{l.estimate ? `${l.estimate.replicas} at full traffic` : 'sized by the estimate'}</span>
      </div>
      <div class="panel stat">
        <span class="label">{old} replicas</span>
        <span class="value">{l.replicas.baseline}</span>
        <span class="muted small">{l.baselineReplicasAtStart} at the start</span>
      </div>
    </section>
  );
}
