/** Small coloured labels: always text plus colour, never colour alone, so they read without it. */

const TIER_CLASS: Record<string, string> = { TIER0: 'sev-critical', TIER1: 'sev-high', TIER2: 'sev-medium', TIER3: 'sev-low', TIER4: 'sev-info' };

export function TierBadge({ tier }: { tier: string }) {
  return <span class={`badge ${TIER_CLASS[tier] ?? ''}`}>{tier}</span>;
}

const STATUS: Record<string, { cls: string; label: string }> = {
  stable: { cls: 'ok', label: 'stable' },
  unstable: { cls: 'bad', label: 'unstable' },
  insufficient_data: { cls: 'unknown', label: 'insufficient data' },
  unmonitored: { cls: 'unknown', label: 'unmonitored' },
  firing: { cls: 'bad', label: 'firing' },
  resolved: { cls: 'ok', label: 'resolved' },
};

export function StatusBadge({ status }: { status: string | null | undefined }) {
  const s = STATUS[status ?? 'unmonitored'] ?? { cls: 'unknown', label: status ?? '—' };
  return <span class={`badge status ${s.cls}`}>{s.label}</span>;
}

export function RoleBadge({ role }: { role: string }) {
  return <span class={`badge role role-${role}`}>{role}</span>;
}

const PHASE_CLASS: Record<string, string> = {
  completed: 'ok',
  rolled_back: 'warn',
  aborted: 'unknown',
  failed: 'bad',
  rolling_back: 'bad',
  awaiting_approval: 'warn',
  paused: 'warn',
};

export function PhaseBadge({ phase }: { phase: string }) {
  return <span class={`badge phase ${PHASE_CLASS[phase] ?? 'active'}`}>{phase.replace(/_/g, ' ')}</span>;
}
