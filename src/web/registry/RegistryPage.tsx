import { useLocation } from 'preact-iso';
import { useEffect, useMemo, useRef } from 'preact/hooks';
import { StatusBadge } from '../components/Badges.js';
import { fmt } from '../components/format.js';
import { ErrorBox, Loading } from '../components/PageState.js';
import { useCatalog, type CatalogModel, type LoadedCatalog } from './catalogData.js';
import { filtersFromQuery, hasFilters, includesRetired, matcher, NO_FILTERS, registryUrl, sortFromQuery, sortModels, STATUS_ORDER, type Filters, type Sort } from './filters.js';
import { RegistryTable, stageLabel } from './RegistryTable.js';

/** The catalog changes when the registry does or a new evaluation lands (every minute): 30 s is fresh enough. */
const REFRESH_MS = 30_000;

const STATUS_WORDS: Record<string, string> = { unstable: 'unstable', insufficient_data: 'insufficient data', stable: 'stable', unmonitored: 'unmonitored' };

/**
 * The registry browser: every model loaded once, then searched, filtered and sorted in memory as fast
 * as one types. The filters live in the URL, so the overview's links and shared links open this view.
 */
export function RegistryPage() {
  const { query, route } = useLocation();
  const filters = filtersFromQuery(query);
  const sort = sortFromQuery(query);
  const catalog = useCatalog(REFRESH_MS);

  const search = useRef<HTMLInputElement>(null);
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== '/' || event.ctrlKey || event.metaKey || event.altKey) return;
      const target = event.target as HTMLElement | null;
      if (target && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName))) return;
      event.preventDefault();
      search.current?.focus();
      search.current?.select();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);

  const go = (next: Filters, nextSort: Sort, replace = false) => route(registryUrl(next, nextSort), replace);
  const setFilter = (change: Partial<Filters>) => go({ ...filters, ...change }, sort);

  return (
    <section class="registry">
      <div class="page-header">
        <h1>Registry</h1>
        <p class="muted">{catalog.data ? subtitle(catalog.data) : 'Every model in the registry, searchable and filterable.'}</p>
      </div>

      <form class="panel registry-filters" role="search" aria-label="Filter models" onSubmit={(e) => e.preventDefault()}>
        <div class="field search">
          <label for="registry-q">Search models</label>
          <input
            id="registry-q"
            ref={search}
            type="search"
            value={filters.q}
            placeholder="id, type, team or on-call"
            aria-describedby="registry-q-hint"
            autocomplete="off"
            spellcheck={false}
            // The URL holds what is typed (replaced, so typing is not a history step); the box reads it
            // back, so there is one source and back/forward restores the text too.
            onInput={(e) => go({ ...filters, q: e.currentTarget.value }, sort, true)}
          />
          <span id="registry-q-hint" class="hint">
            Press <kbd>/</kbd> to search from anywhere on the page
          </span>
        </div>
        <FilterSelect id="registry-surface" label="Surface" all="All surfaces" value={filters.surface} options={catalog.data?.values.surface ?? []} onChange={(surface) => setFilter({ surface })} />
        <FilterSelect id="registry-stage" label="Funnel stage" all="All stages" value={filters.stage} options={catalog.data?.values.funnelStage ?? []} labelOf={stageLabel} onChange={(stage) => setFilter({ stage })} />
        <FilterSelect id="registry-tier" label="Tier" all="All tiers" value={filters.tier} options={catalog.data?.values.tier ?? []} onChange={(tier) => setFilter({ tier })} />
        <FilterSelect id="registry-role" label="Role" all="All roles" value={filters.role} options={catalog.data?.values.role ?? []} onChange={(role) => setFilter({ role })} />
        <FilterSelect id="registry-team" label="Team" all="All teams" value={filters.team} options={catalog.data?.values.team ?? []} onChange={(team) => setFilter({ team })} />
        <FilterSelect
          id="registry-status"
          label="Stability"
          all="Any stability"
          value={filters.status}
          options={catalog.data?.values.status ?? []}
          labelOf={(s) => STATUS_WORDS[s] ?? s}
          onChange={(status) => setFilter({ status })}
        />
        <div class="field check">
          <input id="registry-retired" type="checkbox" checked={filters.retired} onChange={(e) => setFilter({ retired: e.currentTarget.checked })} />
          <label for="registry-retired">Show retired</label>
        </div>
        <button type="button" class="secondary" disabled={!hasFilters(filters)} onClick={() => go(NO_FILTERS, sort)}>
          Clear filters
        </button>
      </form>

      {catalog.error && <ErrorBox error={catalog.error} title={catalog.data ? 'Could not refresh the catalog; showing the last one loaded' : 'Could not load the catalog'} />}
      {catalog.loading && !catalog.data && <Loading what="every model in the registry" />}
      {catalog.data && <Results data={catalog.data} filters={filters} sort={sort} onSort={(next) => go(filters, next)} onClear={() => go(NO_FILTERS, sort)} />}
    </section>
  );
}

function subtitle(data: LoadedCatalog): string {
  const evaluated = data.evaluatedAt === null ? 'no stability evaluation yet' : `stability as of the evaluation at ${fmt.time(data.evaluatedAt)} (${fmt.ago(data.evaluatedAt)})`;
  return `${fmt.int(data.live)} live models and ${fmt.int(data.models.length - data.live)} retired; ${evaluated}.`;
}

interface ResultsProps {
  data: LoadedCatalog;
  filters: Filters;
  sort: Sort;
  onSort: (sort: Sort) => void;
  onClear: () => void;
}

function Results({ data, filters, sort, onSort, onClear }: ResultsProps) {
  // Sorting happens once per catalog and sort; a keystroke only walks the sorted list, keeping order.
  const sorted = useMemo(() => sortModels(data.models, sort), [data, sort.key, sort.dir]);
  const filterKey = JSON.stringify(filters);
  const { shown, counts } = useMemo(() => {
    const test = matcher(filters);
    const shown: CatalogModel[] = [];
    const counts: Record<string, number> = {};
    for (const m of sorted) {
      if (!test(m)) continue;
      shown.push(m);
      counts[m.status] = (counts[m.status] ?? 0) + 1;
    }
    return { shown, counts };
  }, [sorted, filterKey]);
  const withRetired = includesRetired(filters);
  const scope = withRetired ? data.models.length : data.live;

  return (
    <>
      <div class="registry-summary">
        <p data-testid="registry-count" aria-live="polite">
          <strong>{fmt.int(shown.length)}</strong> of {fmt.int(scope)} {withRetired ? 'models (retired included)' : 'models'}
        </p>
        {shown.length > 0 && (
          <div class="status-summary">
            <span class="label" aria-hidden="true">
              Stability:
            </span>
            <ul aria-label="Stability of the models shown">
              {STATUS_ORDER.filter((s) => counts[s]).map((s) => (
                <li key={s}>
                  <strong>{fmt.int(counts[s])}</strong> <StatusBadge status={s} />
                </li>
              ))}
            </ul>
          </div>
        )}
      </div>
      {shown.length === 0 && (
        <div class="callout registry-empty">
          <p>No models match these filters.</p>
          <button type="button" class="secondary" onClick={onClear}>
            Clear filters
          </button>
        </div>
      )}
      <RegistryTable models={shown} sort={sort} onSort={onSort} viewKey={`${filterKey}|${sort.key}|${sort.dir}`} />
      <p class="muted registry-legend">
        Stability is each model's latest evaluation over its rolling window: <strong>unstable</strong> when a task's calibration or normalized
        entropy is outside its healthy band, <strong>insufficient data</strong> when too few labeled predictions arrived to judge,
        <strong> unmonitored</strong> when the model has no thresholds or is retired. Tier is the model's effective tier (its type's unless lowered). The search also matches on-call rotations.
      </p>
    </>
  );
}

interface FilterSelectProps {
  id: string;
  label: string;
  all: string;
  value: string;
  options: readonly string[];
  labelOf?: (value: string) => string;
  onChange: (value: string) => void;
}

/**
 * One filter. A value from the URL that no model has stays selected, marked as such once the catalog
 * is loaded (until then there are no options to compare with).
 */
function FilterSelect({ id, label, all, value, options, labelOf = (v) => v, onChange }: FilterSelectProps) {
  const missing = value !== '' && !options.includes(value);
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        <option value="">{all}</option>
        {missing && <option value={value}>{options.length ? `${labelOf(value)} (no models)` : labelOf(value)}</option>}
        {options.map((option) => (
          <option key={option} value={option}>
            {labelOf(option)}
          </option>
        ))}
      </select>
    </div>
  );
}
