import { useState } from 'preact/hooks';
import { ApiError } from '../api/client.js';
import { useSession } from './session.js';

/** Sign-in with an API token: the console is the API, seen with the token's rights. */
export function SignIn() {
  const { signIn } = useSession();
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(token.trim());
    } catch (e) {
      setError(e instanceof ApiError && e.status === 401 ? 'That token is not known to this server, or it was revoked. Check for a missing character, or ask an admin for a new one.' : (e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" class="signin">
      <h1>modelfleet</h1>
      <p>The control plane for your fleet of ranking models. Sign in with an API token.</p>
      <form onSubmit={submit}>
        <label for="token">API token</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="off"
          required
          value={token}
          onInput={(e) => setToken((e.target as HTMLInputElement).value)}
          aria-describedby="token-help"
          aria-invalid={error ? 'true' : undefined}
        />
        <p id="token-help" class="muted">
          <code>npm start</code> prints an admin token; <code>modelfleet tokens create NAME --role viewer</code> issues a read-only one.
        </p>
        {error && (
          <p role="alert" class="error-text">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy || !token.trim()}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
