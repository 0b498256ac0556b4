import { useEffect, useRef, useState } from 'preact/hooks';
import type { Model } from '../../registry/model.js';
import type { ModelType } from '../../registry/modelType.js';
import { firstResponse, percent } from '../../registry/onCallBrief.js';
import type { ModelEvaluation } from '../../stability/evaluation.js';
import { useApi } from '../api/useApi.js';
import { RoleBadge, StatusBadge, TierBadge } from '../components/Badges.js';
import { fmt, modelHref, teamHref } from '../components/format.js';
import { ErrorBox, Loading } from '../components/PageState.js';
import { AboutSection } from './AboutSection.js';
import { AlertsSection } from './AlertsSection.js';
import { CapacitySection } from './CapacitySection.js';
import { HistorySection } from './HistorySection.js';
import { SloSection } from './SloSection.js';
import { StabilitySection } from './StabilitySection.js';
import { RANGES, useStability, type StabilityRange } from './stabilityData.js';
import type { ChangeRecord } from './apiTypes.js';
import { WhatToDo, type EndExperimentResult } from './WhatToDo.js';
import './model.css';

/** The registry entries move rarely; the stability sections poll on their own, every 30 s. */
const ENTRY_REFRESH_MS = 30_000;

const ROLE_MEANING: Record<Model['role'], string> = {
  baseline: 'the production model: what users get',
  experiment: 'tried on a slice of traffic against the baseline',
  candidate: 'being launched to replace the baseline',
  shadow: 'gets copies of requests, serves no users',
  holdout: 'kept on a slice to measure what launches are worth',
  retired: 'serves no traffic',
};

const TIER_MEANING: Record<Model['effectiveCriticality'], string> = {
  TIER0: 'can cause the worst incidents; pages at any hour',
  TIER1: 'pages at any hour',
  TIER2: 'pages in business hours, tickets outside them',
  TIER3: 'opens tickets',
  TIER4: 'heads-up only',
};

/**
 * One model for the engineer an alert sent here: who owns it, how critical it is, what to do now
 * (ending an experiment is one confirmed click), then the evidence: stability, SLO, alerts, capacity
 * and every change.
 */
export function ModelPage({ id = '' }: { id?: string }) {
  const path = `/models/${encodeURIComponent(id)}`;
  const model = useApi<Model>(path, {}, ENTRY_REFRESH_MS);
  // After navigating to another model the previous one's answer must not show under the new id.
  const m = model.data?.id === id ? model.data : null;
  const type = useApi<ModelType>(m ? `/model-types/${encodeURIComponent(m.modelType)}` : null, {}, ENTRY_REFRESH_MS);
  const t = type.data?.name === m?.modelType ? type.data : null;
  const baselineId = t?.baselineModelId && t.baselineModelId !== id ? t.baselineModelId : null;
  const baseline = useApi<Model>(baselineId ? `/models/${encodeURIComponent(baselineId)}` : null, {}, ENTRY_REFRESH_MS);
  const history = useApi<{ items: ChangeRecord[] }>(m ? `${path}/history` : null, {}, ENTRY_REFRESH_MS);
  const live = m !== null && m.role !== 'retired';
  const [range, setRange] = useState<StabilityRange>(RANGES[1]);
  const stability = useStability(live ? id : null, range);
  const [ended, setEnded] = useState<EndExperimentResult | null>(null);
  const [refreshKey, setRefreshKey] = useState(0);

  useEffect(() => {
    const before = document.title;
    document.title = `${id} · modelfleet`;
    setEnded(null);
    return () => {
      document.title = before;
    };
  }, [id]);

  if (!m) {
    if (model.error?.status === 404) return <UnknownModel id={id} message={model.error.message} />;
    if (model.error) return <ErrorBox error={model.error} title={`Could not read model ${id}`} />;
    return <Loading what={`model ${id}`} />;
  }

  const onEnded = (result: EndExperimentResult) => {
    setEnded(result);
    model.reload();
    type.reload();
    baseline.reload();
    history.reload();
    setRefreshKey((k) => k + 1);
  };
  const report = stability.data?.model === id ? stability.data : null;
  const current = report?.current ?? null;
  // Without a verdict in the last minutes (evaluator behind, traffic stopped) the last one in range still says something.
  const lastJudged = report?.points.findLast((p) => p.status !== null) ?? null;
  const verdict = current ? { status: current.status, at: current.at, stale: false } : lastJudged?.status ? { status: lastJudged.status, at: lastJudged.t, stale: true } : null;

  return (
    <article class="model-page">
      <header class="page-header model-header">
        <div>
          <p class="eyebrow">Model</p>
          <h1>{m.id}</h1>
        </div>
      </header>
      {model.error && <ErrorBox error={model.error} title="Could not refresh the model; showing what was last read" />}
      {ended && <EndedNotice result={ended} />}
      {t ? (
        <>
          <KeyFacts model={m} type={t} verdict={verdict} stabilityLoading={live && !stability.data && !stability.error} />
          {m.role === 'retired' ? <RetiredNotice model={m} type={t} /> : <WhatToDo model={m} type={t} baseline={baseline.data?.id === baselineId ? baseline.data : null} current={current} unstable={verdict?.status === 'unstable'} onEnded={onEnded} />}
          <AboutSection model={m} type={t} />
          {live ? (
            <StabilitySection state={stability} range={range} onRange={setRange} type={t} />
          ) : (
            <section class="panel model-section" aria-labelledby="stability-title">
              <h2 id="stability-title">Stability over time</h2>
              <p class="muted">A retired model is no longer evaluated. Its changes are below.</p>
            </section>
          )}
          <SloSection id={id} live={live} />
          <AlertsSection id={id} retired={m.role === 'retired'} refreshKey={refreshKey} />
          <CapacitySection model={m} />
          <HistorySection history={history} />
        </>
      ) : type.error ? (
        <ErrorBox error={type.error} title={`Could not read model type ${m.modelType}`} />
      ) : (
        <Loading what={`model type ${m.modelType}`} />
      )}
    </article>
  );
}

interface Verdict {
  status: ModelEvaluation['status'];
  at: number;
  /** Older than the last few minutes: the latest the range holds. */
  stale: boolean;
}

function KeyFacts({ model, type, verdict, stabilityLoading }: { model: Model; type: ModelType; verdict: Verdict | null; stabilityLoading: boolean }) {
  const lowered = model.effectiveCriticality !== type.criticality;
  const monitored = Object.keys(model.thresholds).length > 0;
  return (
    <dl class="key-facts panel" aria-label="Key facts">
      <div>
        <dt>Role</dt>
        <dd>
          <RoleBadge role={model.role} />
          <span class="hint">{ROLE_MEANING[model.role]}</span>
        </dd>
      </div>
      <div>
        <dt>Tier</dt>
        <dd>
          <TierBadge tier={model.effectiveCriticality} />
          {lowered && <span class="lowered"> lowered from the type's {type.criticality}</span>}
          <span class="hint">{TIER_MEANING[model.effectiveCriticality]}</span>
        </dd>
      </div>
      <div>
        <dt>Stability now</dt>
        <dd>
          {model.role === 'retired' ? (
            <span class="muted">not evaluated (retired)</span>
          ) : verdict ? (
            <>
              <StatusBadge status={verdict.status} />
              <span class="hint">{verdict.stale ? `last verdict ${fmt.ago(verdict.at)}, none since` : `as of ${fmt.time(verdict.at)}`}</span>
            </>
          ) : stabilityLoading ? (
            <span class="muted">reading…</span>
          ) : monitored ? (
            <>
              <span class="badge unknown">no verdict</span>
              <span class="hint">none in the range charted below</span>
            </>
          ) : (
            <>
              <StatusBadge status="unmonitored" />
              <span class="hint">no thresholds</span>
            </>
          )}
        </dd>
      </div>
      <div>
        <dt>Traffic share</dt>
        <dd>
          <strong class="share" data-testid="traffic-share">
            {percent(model.trafficShare)}
          </strong>
        </dd>
      </div>
      <div>
        <dt>Model type</dt>
        <dd>
          <a href={`/registry?q=${encodeURIComponent(type.name)}`}>{type.name}</a>
        </dd>
      </div>
      <div>
        <dt>Owner team</dt>
        <dd>
          <a href={teamHref(type.ownerTeam)}>{type.ownerTeam}</a>
        </dd>
      </div>
      <div>
        <dt>On-call</dt>
        <dd>
          {type.oncall.rotation}
          <span class="hint">{type.oncall.coverage === '24x7' ? '24x7' : 'business hours'}</span>
        </dd>
      </div>
    </dl>
  );
}

function RetiredNotice({ model, type }: { model: Model; type: ModelType }) {
  const text = firstResponse(model, type).text;
  return (
    <section class="callout retired-notice" aria-labelledby="retired-title">
      <h2 id="retired-title">This model is retired</h2>
      <p>{text.charAt(0).toUpperCase() + text.slice(1)}</p>
    </section>
  );
}

/** Says what ending the experiment did; focused when it appears, since the button that started it is gone. */
function EndedNotice({ result }: { result: EndExperimentResult }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => box.current?.focus(), []);
  const change = result.changes[0];
  return (
    <div class="callout ok ended-notice" role="status" tabIndex={-1} ref={box}>
      <strong>Experiment ended.</strong> {result.model.id} is retired and serves {percent(result.model.trafficShare)} of traffic
      {result.baseline ? (
        <>
          ; the baseline <a href={modelHref(result.baseline.id)}>{result.baseline.id}</a> now serves <strong>{percent(result.baseline.trafficShare)}</strong>
        </>
      ) : null}
      .{change ? ` Recorded in the history as version ${change.version}${change.reason ? `, reason “${change.reason}”` : ''}.` : ''}
    </div>
  );
}

function UnknownModel({ id, message }: { id: string; message: string }) {
  return (
    <section class="model-page">
      <h1>No model “{id}”</h1>
      <div class="callout bad" role="alert">
        <p>{/[.!?]$/.test(message) ? message : `${message}.`}</p>
        <p>
          Model ids are <code>&lt;model type&gt;:&lt;version&gt;</code>, e.g. <code>ig_feed_main_mtml:v12</code>. Look it up in the{' '}
          <a href={`/registry?q=${encodeURIComponent(id.split(':')[0] ?? id)}`}>registry</a>, or start from the <a href="/">fleet overview</a>.
        </p>
      </div>
    </section>
  );
}
