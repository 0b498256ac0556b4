import { NotifierError } from './notifier.js';

/**
 * An address fit for logs: scheme, host and port only. Slack webhook paths and tokens in queries are
 * secrets, so any path or query shows as "/…".
 */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const hidden = (parsed.pathname !== '' && parsed.pathname !== '/') || parsed.search !== '' ? '/…' : '';
    return `${parsed.protocol}//${parsed.host}${hidden}`;
  } catch {
    return '(an invalid URL)';
  }
}

export interface PostTarget {
  notifier: string;
  url: string;
  headers?: Record<string, string>;
  timeoutMs: number;
}

/**
 * POSTs a JSON body and resolves when the receiver answers 2xx. Anything else rejects with a
 * {@link NotifierError} naming the notifier, the status and the start of the answer, with the URL
 * redacted. Redirects count as failures: following one would resend the body somewhere unchecked.
 */
export async function postJson(target: PostTarget, body: unknown): Promise<void> {
  const where = redactUrl(target.url);
  let response: Response;
  try {
    response = await fetch(target.url, {
      method: 'POST',
      headers: { ...target.headers, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      redirect: 'manual',
      signal: AbortSignal.timeout(target.timeoutMs),
    });
  } catch (error) {
    throw new NotifierError(target.notifier, null, `notifier '${target.notifier}' could not deliver to ${where}: ${scrub(reasonOf(error, target.timeoutMs), target.url)}`);
  }
  const text = await response.text().catch(() => '');
  if (response.status < 200 || response.status > 299) {
    const answer = scrub(text.trim().replace(/\s+/g, ' ').slice(0, 200), target.url);
    throw new NotifierError(
      target.notifier,
      response.status,
      `notifier '${target.notifier}' got HTTP ${response.status} from ${where}${answer ? `: ${answer}` : ''}`,
    );
  }
}

function reasonOf(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return `no answer within ${timeoutMs} ms`;
  // fetch reports "fetch failed"; the useful part (ECONNREFUSED, ENOTFOUND...) is in its cause.
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const code = (cause as { code?: unknown } | null)?.code;
  const message = cause instanceof Error ? cause.message : String(cause);
  return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
}

/** Removes the URL's secret parts from text a receiver or the network stack produced. */
function scrub(text: string, url: string): string {
  let out = text;
  try {
    const parsed = new URL(url);
    for (const secret of [url, `${parsed.pathname}${parsed.search}`, parsed.search.slice(1)]) {
      if (secret.length > 1) out = out.split(secret).join('…');
    }
  } catch {
    // an unparsable URL never reached the network, so nothing of it can be in the text
  }
  return out;
}
