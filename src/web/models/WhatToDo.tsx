import { useState } from 'preact/hooks';
import type { Model } from '../../registry/model.js';
import type { ModelType } from '../../registry/modelType.js';
import { firstResponse, percent } from '../../registry/onCallBrief.js';
import type { ModelEvaluation } from '../../stability/evaluation.js';
import { api } from '../api/client.js';
import { useSession } from '../app/session.js';
import { ConfirmDialog } from '../components/ConfirmDialog.js';
import type { ChangeRecord } from './apiTypes.js';
import { formatBand, formatValue } from '../../stability/bandText.js';

/** What `POST /models/{id}/end-experiment` answers. */
export interface EndExperimentResult {
  model: Model;
  baseline: Model | null;
  changes: ChangeRecord[];
}

interface Props {
  model: Model;
  type: ModelType;
  /** The type's baseline as it is now, to say where the traffic goes; null while unknown. */
  baseline: Model | null;
  /** The latest evaluation in the last few minutes, for why it is unstable. */
  current: ModelEvaluation | null;
  /** The latest verdict in range was unstable (current or not). */
  unstable: boolean;
  onEnded: (result: EndExperimentResult) => void;
}

const capitalized = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/**
 * The first response for this model, in the same words as the CLI's on-call brief and every alert
 * (`firstResponse`), with the one action it may call for: ending an experiment.
 */
export function WhatToDo({ model, type, baseline, current, unstable, onEnded }: Props) {
  const response = firstResponse(model, type);
  const violations = current?.status === 'unstable' ? current.tasks.flatMap((t) => t.violations.map((v) => ({ task: t.task, ...v }))) : [];
  return (
    <section class={`callout what-to-do ${unstable ? 'bad' : ''}`} aria-labelledby="what-to-do-title">
      <h2 id="what-to-do-title">What to do now</h2>
      <p class="first-response">{capitalized(response.text)}</p>
      {violations.length > 0 && (
        <p class="why">
          <strong>Why it is unstable:</strong>{' '}
          {violations.map((v) => `${v.task} ${v.metric === 'ne' ? 'NE' : 'calibration'} ${formatValue(v.value)} ${v.band.min === null && v.band.max !== null ? `above ${formatValue(v.band.max)}` : `outside ${formatBand(v.band)}`}`).join('; ')}.
        </p>
      )}
      {response.kind === 'end_experiment' && <EndExperiment model={model} type={type} baseline={baseline} onEnded={onEnded} />}
    </section>
  );
}

function EndExperiment({ model, type, baseline, onEnded }: Omit<Props, 'current' | 'unstable'>) {
  const { actor, canWrite } = useSession();
  const [asking, setAsking] = useState(false);
  const owner = type.ownerTeam;
  // A candidate without traffic is usually mid-launch: the launch, not this action, is what to stop.
  if (model.role === 'candidate' && model.trafficShare === 0) {
    return (
      <p class="muted">
        It serves no traffic yet. If a launch is bringing it up, stop that launch from <a href="/launches">Launches</a>.
      </p>
    );
  }
  if (!canWrite(owner)) {
    const who = actor?.role === 'member' ? `members of ${actor.team}` : `${actor?.role ?? 'signed-out'} tokens`;
    return (
      <p class="not-allowed" data-testid="end-experiment-unavailable">
        {capitalized(who)} cannot end {type.ownerTeam}'s experiments; sign in as a member of {owner} or an admin, or page {type.oncall.rotation}.
      </p>
    );
  }
  const baselineId = type.baselineModelId!;
  const moves = model.trafficShare > 0;
  return (
    <>
      <p class="action-row">
        <button type="button" class="danger" onClick={() => setAsking(true)}>
          End this experiment
        </button>
        <span class="muted">
          or from a shell: <code>modelfleet models end-experiment {model.id}</code>
        </span>
      </p>
      {asking && (
        <ConfirmDialog
          title={`End ${model.id}?`}
          confirmLabel="End experiment"
          askReason
          danger
          onClose={() => setAsking(false)}
          onConfirm={async (reason) => {
            const result = await api.post<EndExperimentResult>(`/models/${encodeURIComponent(model.id)}/end-experiment`, undefined, reason);
            onEnded(result);
          }}
        >
          <p>
            {model.id} will be <strong>retired</strong>.{' '}
            {moves ? (
              <>
                Its {percent(model.trafficShare)} of traffic goes to the baseline <strong>{baselineId}</strong>
                {baseline ? (
                  <>
                    , which goes from {percent(baseline.trafficShare)} to <strong>{percent(Math.min(1, baseline.trafficShare + model.trafficShare))}</strong>
                  </>
                ) : null}
                .
              </>
            ) : (
              <>
                It serves no user traffic, so the baseline <strong>{baselineId}</strong> keeps{baseline ? ` its ${percent(baseline.trafficShare)}` : ' serving'}.
              </>
            )}
          </p>
          <p>
            {moves ? 'Both changes are made together and recorded' : 'The change is recorded'} in the history with your reason. Tell team {type.ownerTeam}.
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}
