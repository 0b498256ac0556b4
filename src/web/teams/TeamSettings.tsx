import { useEffect, useState } from 'preact/hooks';
import type { TeamPool } from '../../launch/quota.js';
import type { Team } from '../../registry/team.js';
import { ApiError, request } from '../api/client.js';
import { ConfirmDialog } from '../components/ConfirmDialog.js';
import { units } from '../overview/describe.js';
import { NO_QUOTA, POLICY } from './pool.js';

type Policy = Team['launchPolicy'];
const POLICIES = Object.keys(POLICY) as Policy[];

const quotaWords = (quota: number | null) => (quota === null ? 'no quota' : `${units(quota)} units`);

/** The quota typed in: null for none, a number of units, or what is wrong with it. */
function parseQuota(text: string): { ok: true; value: number | null } | { ok: false; message: string } {
  const trimmed = text.trim();
  if (trimmed === '') return { ok: true, value: null };
  const value = Number(trimmed);
  if (!Number.isFinite(value) || value < 0) return { ok: false, message: 'a quota is a number of capacity units, 0 or more; leave it empty for no quota' };
  return { ok: true, value };
}

/**
 * The admin's form for a team's quota and launch policy. It writes a merge patch with the version it
 * read (If-Match), after a confirmation that says what changes and asks why (recorded in history).
 */
export function TeamSettings({ team, pool, onChanged }: { team: Team; pool: TeamPool | null; onChanged: () => void }) {
  const [quotaText, setQuotaText] = useState(team.quota === null ? '' : String(team.quota));
  const [policy, setPolicy] = useState<Policy>(team.launchPolicy);
  const [invalid, setInvalid] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<{ quota: number | null; policy: Policy } | null>(null);
  const [saved, setSaved] = useState<string | null>(null);

  // A save (or someone else's change, seen on reload) moves the form to what is stored now.
  useEffect(() => {
    setQuotaText(team.quota === null ? '' : String(team.quota));
    setPolicy(team.launchPolicy);
  }, [team.version]);

  const review = (event: Event) => {
    event.preventDefault();
    const quota = parseQuota(quotaText);
    if (!quota.ok) {
      setInvalid(quota.message);
      return;
    }
    setInvalid(null);
    setSaved(null);
    setConfirming({ quota: quota.value, policy });
  };

  const parsed = parseQuota(quotaText);
  const unchanged = parsed.ok && parsed.value === team.quota && policy === team.launchPolicy;
  const held = pool ? pool.used + pool.reserved : null;

  const save = async (reason: string) => {
    const next = confirming!;
    const patch: Partial<Pick<Team, 'quota' | 'launchPolicy'>> = {};
    if (next.quota !== team.quota) patch.quota = next.quota;
    if (next.policy !== team.launchPolicy) patch.launchPolicy = next.policy;
    let after: Team;
    try {
      after = await request<Team>('PATCH', `/teams/${encodeURIComponent(team.name)}`, { body: patch, reason, ifMatch: team.version });
    } catch (error) {
      if (error instanceof ApiError && error.status === 412) {
        // Someone else changed the team since it was read: show their change before anything is overwritten.
        onChanged();
        throw new Error(`${team.name} was changed by someone else since this page read it (${error.message}). The page now shows the current values: cancel, review them and try again.`);
      }
      throw error;
    }
    setSaved(`Saved: ${quotaWords(after.quota)}, ${POLICY[after.launchPolicy].label.toLowerCase()} (version ${after.version}).`);
    onChanged();
  };

  return (
    <section class="panel spaced" aria-labelledby="settings-title">
      <h2 id="settings-title">Change quota and launch policy</h2>
      <form class="team-form" onSubmit={review} noValidate>
        <div>
          <label for="team-quota">Quota (capacity units)</label>
          <input
            id="team-quota"
            type="number"
            min="0"
            step="any"
            inputMode="decimal"
            value={quotaText}
            aria-invalid={invalid ? 'true' : undefined}
            aria-describedby="team-quota-help"
            onInput={(e) => setQuotaText((e.target as HTMLInputElement).value)}
          />
          <p class="help" id="team-quota-help">
            Empty: {NO_QUOTA}.{held !== null && ` The team holds ${units(held)} units now.`}
          </p>
          {invalid && (
            <p class="error-text" role="alert">
              {invalid}
            </p>
          )}
        </div>
        <div>
          <label for="team-policy">Launch policy</label>
          <select id="team-policy" value={policy} aria-describedby="team-policy-help" onChange={(e) => setPolicy((e.target as HTMLSelectElement).value as Policy)}>
            {POLICIES.map((p) => (
              <option key={p} value={p}>
                {POLICY[p].label}
              </option>
            ))}
          </select>
          <p class="help" id="team-policy-help">
            {POLICY[policy].label}: {POLICY[policy].meaning}.
          </p>
        </div>
        <div class="actions">
          <button type="submit" disabled={unchanged}>
            Review change…
          </button>
          {saved && (
            <span role="status" class="muted">
              {saved}
            </span>
          )}
        </div>
      </form>
      {confirming && (
        <ConfirmDialog title={`Change ${team.name}'s pool?`} confirmLabel="Change team" askReason onConfirm={save} onClose={() => setConfirming(null)}>
          <ul class="changes">
            {confirming.quota !== team.quota && (
              <li>
                Quota: {quotaWords(team.quota)} → <strong>{quotaWords(confirming.quota)}</strong>
              </li>
            )}
            {confirming.policy !== team.launchPolicy && (
              <li>
                Launch policy: {POLICY[team.launchPolicy].label} → <strong>{POLICY[confirming.policy].label}</strong> ({POLICY[confirming.policy].meaning})
              </li>
            )}
          </ul>
          {confirming.quota !== null && held !== null && held > confirming.quota && (
            <p class="error-text">
              The team already holds {units(held)} units, more than {units(confirming.quota)}: its new launches will be refused until it frees capacity.
            </p>
          )}
        </ConfirmDialog>
      )}
    </section>
  );
}
