import type { Model } from '../../registry/model.js';
import type { ModelType } from '../../registry/modelType.js';
import { TierBadge } from '../components/Badges.js';
import { fmt, modelHref } from '../components/format.js';
import { showValue } from './patchDiff.js';

const FUNNEL: Record<ModelType['funnelStage'], string> = {
  retrieval: 'retrieval: finds candidates in the whole inventory',
  early_stage_ranking: 'early-stage ranking: narrows the candidates cheaply',
  late_stage_ranking: 'late-stage ranking: orders what people finally see',
  other: 'other',
};

const COVERAGE: Record<ModelType['oncall']['coverage'], string> = { '24x7': 'around the clock (24x7)', business_hours: 'business hours only' };

/** What the model is for, as its type declares it: function, stage, tasks, people, related models. */
export function AboutSection({ model, type }: { model: Model; type: ModelType }) {
  const parsed = type.parsed;
  const extended = [...Object.entries(type.extended).map(([k, v]) => ({ k, v, of: 'type' })), ...Object.entries(model.extended).map(([k, v]) => ({ k, v, of: 'model' }))];
  return (
    <section class="panel model-section" aria-labelledby="about-title">
      <h2 id="about-title">What it does</h2>
      <dl class="facts-list">
        <dt>Business function</dt>
        <dd class="lead">{type.description}</dd>
        <dt>Where it serves</dt>
        <dd>
          app <strong>{parsed.app}</strong>, surface <strong>{parsed.surface}</strong>
          {parsed.subsurfaces.length ? (
            <>
              , {parsed.subsurfaces.length === 1 ? 'subsurface' : 'subsurfaces'} <strong>{parsed.subsurfaces.join(' / ')}</strong>
            </>
          ) : null}
          , architecture <strong>{parsed.architecture}</strong>
        </dd>
        <dt>Funnel stage</dt>
        <dd>{FUNNEL[type.funnelStage]}</dd>
        <dt>Tasks</dt>
        <dd>
          <ul class="plain">
            {type.tasks.map((t) => {
              const th = model.thresholds[t.name];
              return (
                <li key={t.name}>
                  <strong>{t.name}</strong>
                  {t.description ? `: ${t.description}` : ''}{' '}
                  <span class="muted">
                    {th ? `(thresholds ${th.source}: calibration ${th.calibration.min}–${th.calibration.max}, NE at most ${th.neMax})` : '(no thresholds on this model: not judged)'}
                  </span>
                </li>
              );
            })}
          </ul>
        </dd>
        <dt>On-call</dt>
        <dd>
          <strong>{type.oncall.rotation}</strong>, {COVERAGE[type.oncall.coverage]}
        </dd>
        <dt>Baseline of the type</dt>
        <dd>{type.baselineModelId ? <ModelLink id={type.baselineModelId} self={model.id} /> : <span class="muted">none: nothing to fall back to</span>}</dd>
        <dt>Holdout of the type</dt>
        <dd>{type.holdoutModelId ? <ModelLink id={type.holdoutModelId} self={model.id} /> : <span class="muted">none</span>}</dd>
        <dt>Criticality</dt>
        <dd>
          Type <TierBadge tier={type.criticality} />
          {model.criticality && model.criticality !== type.criticality ? (
            <>
              , this model lowered to <TierBadge tier={model.effectiveCriticality} />
            </>
          ) : null}
          {type.pendingApproval && (
            <span class="muted">
              {' '}
              · {type.pendingApproval.requestedCriticality} requested by {type.pendingApproval.requestedBy} {fmt.ago(type.pendingApproval.requestedAt)}, awaiting a platform admin's approval
            </span>
          )}
          {type.criticalityJustification && (
            <div class="justification">
              {type.criticalityJustification.rationale && <p>{type.criticalityJustification.rationale}</p>}
              {type.criticalityJustification.businessMetrics.length > 0 && (
                <p>
                  <span class="muted">Business metrics at stake:</span> {type.criticalityJustification.businessMetrics.join(', ')}
                </p>
              )}
            </div>
          )}
        </dd>
        {model.assets.length > 0 && (
          <>
            <dt>Assets</dt>
            <dd>
              <ul class="plain">
                {model.assets.map((a) => (
                  <li key={a.name}>
                    {a.kind.replace(/_/g, ' ')}: <code>{a.uri}</code>
                    {a.description ? <span class="muted"> ({a.description})</span> : null}
                  </li>
                ))}
              </ul>
            </dd>
          </>
        )}
        {extended.length > 0 && (
          <>
            <dt>Extended attributes</dt>
            <dd>
              <ul class="plain">
                {extended.map((e) => (
                  <li key={`${e.of}:${e.k}`}>
                    <code>{e.k}</code>: {showValue(e.v)} <span class="muted">(on the {e.of})</span>
                  </li>
                ))}
              </ul>
            </dd>
          </>
        )}
      </dl>
    </section>
  );
}

function ModelLink({ id, self }: { id: string; self: string }) {
  return id === self ? (
    <span>
      {id} <span class="muted">(this model)</span>
    </span>
  ) : (
    <a href={modelHref(id)}>{id}</a>
  );
}
