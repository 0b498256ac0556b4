/** Number and time formatting shared by every page, so one figure reads the same everywhere. */

export const fmt = {
  int: (n: number | null | undefined) => (n === null || n === undefined ? '—' : Math.round(n).toLocaleString('en-US')),
  num: (n: number | null | undefined, digits = 3) => (n === null || n === undefined || !Number.isFinite(n) ? '—' : Number(n.toPrecision(digits)).toLocaleString('en-US', { maximumFractionDigits: 6 })),
  pct: (n: number | null | undefined, digits = 1) => (n === null || n === undefined || !Number.isFinite(n) ? '—' : `${(n * 100).toFixed(digits)}%`),
  ms: (n: number | null | undefined) => (n === null || n === undefined ? '—' : n < 10 ? `${n.toFixed(2)} ms` : `${Math.round(n)} ms`),
  /** An absolute time in the reader's zone, to the second. */
  time: (t: number | string | null | undefined) => (t === null || t === undefined ? '—' : new Date(t).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'medium' })),
  /** How long ago, coarse: "12 s ago", "5 min ago", "3 h ago", "2 d ago". */
  ago: (t: number | string | null | undefined, now = Date.now()) => {
    if (t === null || t === undefined) return '—';
    const s = Math.max(0, Math.round((now - new Date(t).getTime()) / 1000));
    if (s < 60) return `${s} s ago`;
    if (s < 3600) return `${Math.round(s / 60)} min ago`;
    if (s < 86_400) return `${Math.round(s / 3600)} h ago`;
    return `${Math.round(s / 86_400)} d ago`;
  },
  duration: (ms: number | null | undefined) => {
    if (ms === null || ms === undefined) return '—';
    const s = Math.round(ms / 1000);
    if (s < 60) return `${s} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
    return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
  },
};

/** The console's path to a model's page (ids hold a colon, so they are encoded). */
export const modelHref = (id: string) => `/models/${encodeURIComponent(id)}`;
export const launchHref = (id: string) => `/launches/${encodeURIComponent(id)}`;
export const teamHref = (name: string) => `/teams/${encodeURIComponent(name)}`;
