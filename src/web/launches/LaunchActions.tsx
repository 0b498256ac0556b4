import { useState } from 'preact/hooks';
import type { ComponentChildren } from 'preact';
import type { Launch } from '../../launch/launch.js';
import { allowedActions, isTerminal, type LaunchAction } from '../../launch/launchPhase.js';
import { api } from '../api/client.js';
import { useSession } from '../app/session.js';
import { ConfirmDialog } from '../components/ConfirmDialog.js';
import { fmt } from '../components/format.js';
import { stepText } from './launchView.js';

interface ActionCopy {
  label: string;
  title: string;
  confirmLabel: string;
  /** Stops or skips part of the launch: drawn as a danger button. */
  danger: boolean;
  /** What will happen, with this launch's numbers. */
  body: (l: Launch) => ComponentChildren;
}

const old = (l: Launch) => l.baseline ?? 'the other live models';
const units = (n: number) => `${fmt.num(n, 4)} unit${n === 1 ? '' : 's'}`;

const COPY: Record<LaunchAction, ActionCopy> = {
  approve: {
    label: 'Approve',
    title: 'Approve this launch?',
    confirmLabel: 'Approve and start',
    danger: false,
    body: (l) => {
      const first = l.plan[0];
      return (
        <p>
          {first ? (
            <>
              <strong>{l.candidate}</strong> starts {first.candidateReplicas} replica(s), then takes {fmt.pct(first.share, 0)} of {old(l)}'s traffic. The shift runs in {l.plan.length} step(s), each serving {l.settings.bakeSeconds} s behind its
              health gates before {old(l)} scales down.
            </>
          ) : (
            <>The launch moves on to preparation.</>
          )}{' '}
          It holds {units(l.reservedUnits)} of {l.team}'s quota while it runs.
        </p>
      );
    },
  },
  reject: {
    label: 'Reject',
    title: 'Reject this launch?',
    confirmLabel: 'Reject launch',
    danger: true,
    body: (l) => (
      <p>
        The launch ends as aborted: no replica of {l.candidate} starts and no traffic moves. The {units(l.reservedUnits)} it reserved go back to {l.team}'s pool.
      </p>
    ),
  },
  pause: {
    label: 'Pause',
    title: 'Pause this launch?',
    confirmLabel: 'Pause launch',
    danger: false,
    body: (l) => (
      <p>
        The launch holds where it is: {l.candidate} keeps {fmt.pct(l.traffic.candidate)} of the traffic and its {l.replicas.candidate} replica(s), and no step, gate or scale-down happens until someone resumes it. A bake in
        progress starts over on resume.
      </p>
    ),
  },
  resume: {
    label: 'Resume',
    title: 'Resume this launch?',
    confirmLabel: 'Resume launch',
    danger: false,
    body: (l) => (
      <p>
        The launch goes on {(l.pausedFrom ?? 'running').replace(/_/g, ' ')} from {stepText(l)}. A bake the pause interrupted starts over, so the gates judge fresh traffic.
      </p>
    ),
  },
  abort: {
    label: 'Abort',
    title: 'Abort this launch?',
    confirmLabel: 'Abort launch',
    danger: true,
    body: (l) => {
      const from = l.phase === 'paused' ? l.pausedFrom : l.phase;
      if (from === 'estimating' || from === 'awaiting_approval') {
        return <p>The launch ends as aborted. Nothing has moved yet: no replica of {l.candidate} started and {old(l)} keeps all of its traffic.</p>;
      }
      return (
        <p>
          Traffic returns to <strong>{old(l)}</strong> before the candidate scales down:{' '}
          {l.baseline ? (
            <>
              {l.baseline} scales back to {l.baselineReplicasAtStart} replica(s) and, once they are ready, takes back its {fmt.pct(l.baselineShare)} of the traffic;
            </>
          ) : (
            <>the candidate's share goes back to 0;</>
          )}{' '}
          then {l.candidate}'s replicas are removed and the launch ends as aborted.
        </p>
      );
    },
  },
  promote: {
    label: 'Promote now',
    title: 'Promote the candidate now?',
    confirmLabel: 'Promote now',
    danger: true,
    body: (l) => {
      const last = l.plan[l.plan.length - 1];
      return (
        <p>
          The remaining steps are skipped: {l.candidate} scales to {last?.candidateReplicas ?? l.estimate?.replicas ?? '—'} replica(s) and takes all of {old(l)}'s traffic ({fmt.pct(l.baselineShare)} of the type) at once,{' '}
          <strong>without a bake or health gates</strong>. Then it becomes the baseline and {l.baseline ? `${l.baseline} ${l.settings.retireBaseline === 'holdout' ? 'becomes the holdout' : 'is retired'}` : 'the launch completes'}.
        </p>
      );
    },
  },
};

/** Buttons order: the decision first, the way out last. */
const ORDER: LaunchAction[] = ['approve', 'resume', 'pause', 'promote', 'reject', 'abort'];

/**
 * The actions the launch's phase allows, for people who may write to its team; each one confirms
 * what it will do and records a reason. A refusal shows the API's message in the dialog.
 */
export function LaunchActions({ launch, onDone }: { launch: Launch; onDone: () => void }) {
  const session = useSession();
  const [open, setOpen] = useState<LaunchAction | null>(null);
  // What the last action did, shown until the launch moves on from the phase it left it in.
  const [done, setDone] = useState<{ text: string; phase: Launch['phase'] } | null>(null);
  if (isTerminal(launch.phase)) return null;
  if (!session.canWrite(launch.team)) {
    return <p class="muted launch-readonly">You can follow this launch; members of {launch.team} and admins act on it.</p>;
  }
  const allowed = allowedActions(launch);
  // Waiting for approval, Reject is the way to stop it: Abort would do the same under another name.
  const actions = ORDER.filter((a) => allowed.includes(a) && !(a === 'abort' && allowed.includes('reject')));
  const copy = open ? COPY[open] : null;
  return (
    <div class="launch-actions">
      <div class="buttons" role="group" aria-label="Act on this launch">
        {actions.map((action) => (
          <button key={action} type="button" class={COPY[action].danger ? 'danger' : action === 'pause' || action === 'promote' ? 'secondary' : ''} onClick={() => setOpen(action)}>
            {COPY[action].label}
          </button>
        ))}
      </div>
      <p class="muted small" role="status">
        {done?.phase === launch.phase ? done.text : ''}
      </p>
      {open && copy && (
        <ConfirmDialog
          title={copy.title}
          confirmLabel={copy.confirmLabel}
          danger={copy.danger}
          askReason
          onConfirm={async (reason) => {
            const after = await api.post<Launch>(`/launches/${encodeURIComponent(launch.id)}/${open}`, { reason });
            setDone({ text: `${copy.label} recorded: the launch is ${after.phase.replace(/_/g, ' ')}.`, phase: after.phase });
            onDone();
          }}
          onClose={() => setOpen(null)}
        >
          {copy.body(launch)}
        </ConfirmDialog>
      )}
    </div>
  );
}
