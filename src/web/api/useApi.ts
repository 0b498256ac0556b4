import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, type Query } from './client.js';

export interface ApiState<T> {
  data: T | null;
  error: ApiError | null;
  loading: boolean;
  /** Fetches again now (after a write, say). */
  reload: () => void;
}

/**
 * GET `path` (null: nothing yet) and keep it fresh every `refreshMs`. A refresh keeps showing the last
 * answer until the next arrives, so polling pages do not flicker; a failed refresh keeps it too and
 * shows the error beside it.
 */
export function useApi<T>(path: string | null, query: Query = {}, refreshMs = 0): ApiState<T> {
  const [state, setState] = useState<{ data: T | null; error: ApiError | null; loading: boolean }>({ data: null, error: null, loading: path !== null });
  const [tick, setTick] = useState(0);
  const key = path === null ? null : `${path}?${JSON.stringify(query)}`;
  const last = useRef<string | null>(null);

  useEffect(() => {
    if (path === null) return;
    const controller = new AbortController();
    if (last.current !== key) setState({ data: null, error: null, loading: true });
    last.current = key;
    api
      .get<T>(path, query, controller.signal)
      .then((data) => setState({ data, error: null, loading: false }))
      .catch((error: unknown) => {
        if ((error as Error).name === 'AbortError') return;
        setState((s) => ({ data: s.data, error: error instanceof ApiError ? error : new ApiError(0, 'client', String(error)), loading: false }));
      });
    return () => controller.abort();
  }, [key, tick]);

  useEffect(() => {
    if (!refreshMs || path === null) return;
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') setTick((t) => t + 1);
    }, refreshMs);
    return () => clearInterval(timer);
  }, [key, refreshMs]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}
