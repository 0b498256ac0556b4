import { createContext, type ComponentChildren } from 'preact';
import { useCallback, useContext, useEffect, useState } from 'preact/hooks';
import { canWriteOwned } from '../../registry/ownership.js';
import type { Actor } from '../../registry/actor.js';
import { api, ApiError, request, tokenStore } from '../api/client.js';

export interface Session {
  actor: Actor | null;
  /** True until the stored token has been checked. */
  checking: boolean;
  signIn(token: string): Promise<void>;
  signOut(): void;
  /** Whether the signed-in token may change what `owner` owns (null: admin-only things). */
  canWrite(owner: string | null): boolean;
}

const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside SessionProvider');
  return session;
}

/** Holds who is signed in; the token stays in this browser's storage until sign-out. */
export function SessionProvider({ children }: { children: ComponentChildren }) {
  const [actor, setActor] = useState<Actor | null>(null);
  const [checking, setChecking] = useState(tokenStore.get() !== null);

  useEffect(() => {
    if (!tokenStore.get()) return;
    api
      .get<Actor>('/whoami')
      .then(setActor)
      .catch((error: unknown) => {
        if (error instanceof ApiError && error.status === 401) tokenStore.clear();
      })
      .finally(() => setChecking(false));
  }, []);

  const signIn = useCallback(async (token: string) => {
    const who = await request<Actor>('GET', '/whoami', { token });
    tokenStore.set(token);
    setActor(who);
  }, []);
  const signOut = useCallback(() => {
    tokenStore.clear();
    setActor(null);
  }, []);
  const canWrite = useCallback((owner: string | null) => actor !== null && canWriteOwned(actor, owner), [actor]);

  return <SessionContext.Provider value={{ actor, checking, signIn, signOut, canWrite }}>{children}</SessionContext.Provider>;
}
