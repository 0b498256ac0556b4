import { useEffect, useRef, useState } from 'preact/hooks';
import type { Catalog, CatalogField } from '../../registry/catalog.js';
import type { ModelStatus } from '../../stability/evaluation.js';
import { ApiError, apiUrl, tokenStore, type ErrorDetail } from '../api/client.js';

/** One model of the catalog as the page filters and sorts it; built once per catalog, never per keystroke. */
export interface CatalogModel {
  id: string;
  modelType: string;
  surface: string;
  funnelStage: string;
  tier: string;
  team: string;
  oncall: string;
  role: string;
  trafficShare: number;
  status: ModelStatus;
  retired: boolean;
  /** Id, type, team and on-call rotation, lower-cased, for the text search. */
  text: string;
}

export interface LoadedCatalog {
  models: CatalogModel[];
  values: Catalog['values'];
  evaluatedAt: number | null;
  /** Live (not retired) models. */
  live: number;
}

/** Reads rows by the field names the answer gives, so a column added later does not shift the others. */
export function prepareCatalog(catalog: Catalog): LoadedCatalog {
  const at = (field: CatalogField) => catalog.fields.indexOf(field);
  const i = {
    id: at('id'),
    modelType: at('modelType'),
    surface: at('surface'),
    funnelStage: at('funnelStage'),
    tier: at('tier'),
    team: at('team'),
    oncall: at('oncall'),
    role: at('role'),
    trafficShare: at('trafficShare'),
    status: at('status'),
    retired: at('retired'),
  };
  let live = 0;
  const models = catalog.rows.map((row): CatalogModel => {
    const cell = row as unknown as Array<string | number | boolean>;
    const model: CatalogModel = {
      id: cell[i.id] as string,
      modelType: cell[i.modelType] as string,
      surface: cell[i.surface] as string,
      funnelStage: cell[i.funnelStage] as string,
      tier: cell[i.tier] as string,
      team: cell[i.team] as string,
      oncall: cell[i.oncall] as string,
      role: cell[i.role] as string,
      trafficShare: cell[i.trafficShare] as number,
      status: cell[i.status] as ModelStatus,
      retired: cell[i.retired] as boolean,
      text: '',
    };
    model.text = `${model.id} ${model.modelType} ${model.team} ${model.oncall}`.toLowerCase();
    if (!model.retired) live += 1;
    return model;
  });
  return { models, values: catalog.values, evaluatedAt: catalog.evaluatedAt, live };
}

/** GET /catalog, conditional on the ETag last seen: null when the server says nothing changed (304). */
async function fetchCatalog(etag: string | null, signal: AbortSignal): Promise<{ catalog: Catalog; etag: string | null } | null> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const token = tokenStore.get();
  if (token) headers['authorization'] = `Bearer ${token}`;
  if (etag) headers['if-none-match'] = etag;
  let response: Response;
  try {
    // The page does its own revalidation with the ETag; the HTTP cache would only hide the 304.
    response = await fetch(apiUrl('/catalog'), { headers, signal, cache: 'no-store' });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiError(0, 'unreachable', `the modelfleet server did not answer (${(error as Error).message}); is it running?`);
  }
  if (response.status === 304) return null;
  if (!response.ok) {
    const body = (await response.json().catch(() => null)) as { error?: { code?: string; message?: string; details?: ErrorDetail[] } } | null;
    throw new ApiError(response.status, body?.error?.code ?? `http_${response.status}`, body?.error?.message ?? `GET /catalog answered ${response.status}`, body?.error?.details ?? []);
  }
  return { catalog: (await response.json()) as Catalog, etag: response.headers.get('etag') };
}

export interface CatalogState {
  data: LoadedCatalog | null;
  error: ApiError | null;
  loading: boolean;
}

/**
 * The catalog, loaded once and revalidated every `refreshMs` with its ETag: an unchanged fleet costs a
 * 304 and no re-render. A failed refresh keeps the last catalog and reports the error beside it.
 */
export function useCatalog(refreshMs: number): CatalogState {
  const [state, setState] = useState<CatalogState>({ data: null, error: null, loading: true });
  const etag = useRef<string | null>(null);

  useEffect(() => {
    let controller: AbortController | null = null;
    const load = async () => {
      controller?.abort();
      const current = (controller = new AbortController());
      try {
        const result = await fetchCatalog(etag.current, current.signal);
        if (result) {
          etag.current = result.etag;
          setState({ data: prepareCatalog(result.catalog), error: null, loading: false });
        } else {
          setState((s) => (s.error || s.loading ? { ...s, error: null, loading: false } : s));
        }
      } catch (error) {
        if ((error as Error).name === 'AbortError') return;
        setState((s) => ({ data: s.data, error: error instanceof ApiError ? error : new ApiError(0, 'client', String(error)), loading: false }));
      }
    };
    void load();
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') void load();
    }, refreshMs);
    return () => {
      clearInterval(timer);
      controller?.abort();
    };
  }, [refreshMs]);

  return state;
}
