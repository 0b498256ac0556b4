import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useRef } from 'preact/hooks';
import { RoleBadge, StatusBadge, TierBadge } from '../components/Badges.js';
import { modelHref, teamHref } from '../components/format.js';
import type { CatalogModel } from './catalogData.js';
import type { Sort, SortDir, SortKey } from './filters.js';

/** Fixed heights let the virtualizer place any row without measuring it. Keep in step with styles.css. */
const ROW_HEIGHT = 38;
const HEADER_HEIGHT = 40;

interface Column {
  key: SortKey;
  label: string;
  /** The direction a first click sorts: largest traffic first; everything else from the top of its order. */
  first: SortDir;
  num?: boolean;
}

const COLUMNS: readonly Column[] = [
  { key: 'id', label: 'Model', first: 'asc' },
  { key: 'type', label: 'Type', first: 'asc' },
  { key: 'surface', label: 'Surface', first: 'asc' },
  { key: 'stage', label: 'Funnel stage', first: 'asc' },
  { key: 'tier', label: 'Tier', first: 'asc' },
  { key: 'team', label: 'Owner team', first: 'asc' },
  { key: 'role', label: 'Role', first: 'asc' },
  { key: 'share', label: 'Traffic share', first: 'desc', num: true },
  { key: 'status', label: 'Stability', first: 'asc' },
];

const STAGE_LABEL: Record<string, string> = {
  retrieval: 'retrieval',
  early_stage_ranking: 'early-stage ranking',
  late_stage_ranking: 'late-stage ranking',
  other: 'other',
};
export const stageLabel = (stage: string): string => STAGE_LABEL[stage] ?? stage.replace(/_/g, ' ');

/** Shares to the precision they are set at: 0%, 0.25%, 12.5%. */
export const shareLabel = (share: number): string => (share === 0 ? '0%' : `${Number((share * 100).toPrecision(3))}%`);

const SORT_WORDS: Record<SortDir, 'ascending' | 'descending'> = { asc: 'ascending', desc: 'descending' };

export interface RegistryTableProps {
  models: readonly CatalogModel[];
  sort: Sort;
  onSort: (sort: Sort) => void;
  /** Changes when the filters or sort do: the list scrolls back to its top. */
  viewKey: string;
}

/**
 * The models as a table only the visible rows of which are in the DOM, so 10,000 rows scroll as 30.
 * It stays a table to assistive technology: ARIA table roles, with the full row count and each
 * rendered row's index, and sortable column headers that say how they sort.
 */
export function RegistryTable({ models, sort, onSort, viewKey }: RegistryTableProps) {
  const scroller = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: models.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    getItemKey: (index) => models[index]!.id,
    overscan: 12,
    // The sticky header sits above the first row inside the scrolled element.
    scrollMargin: HEADER_HEIGHT,
    initialRect: { width: 1200, height: 600 },
  });

  useEffect(() => {
    if (scroller.current) scroller.current.scrollTop = 0;
  }, [viewKey]);

  const clickSort = (column: Column) => {
    const dir = sort.key === column.key ? (sort.dir === 'asc' ? 'desc' : 'asc') : column.first;
    onSort({ key: column.key, dir });
  };

  return (
    <div class="vtable-scroll" ref={scroller}>
      <div class="vtable" role="table" aria-label="Models" aria-rowcount={models.length + 1} aria-colcount={COLUMNS.length}>
        <div class="vtable-head" role="rowgroup">
          <div class="vtable-row" role="row" aria-rowindex={1}>
            {COLUMNS.map((column) => {
              const sorted = sort.key === column.key;
              return (
                <div key={column.key} class={`vtable-cell${column.num ? ' num' : ''}`} role="columnheader" aria-sort={sorted ? SORT_WORDS[sort.dir] : 'none'}>
                  <button type="button" class="sort" onClick={() => clickSort(column)}>
                    {column.label}
                    <span class="sort-mark" aria-hidden="true">
                      {sorted ? (sort.dir === 'asc' ? '▲' : '▼') : '↕'}
                    </span>
                  </button>
                </div>
              );
            })}
          </div>
        </div>
        <div class="vtable-body" role="rowgroup" style={{ height: `${virtualizer.getTotalSize()}px` }}>
          {virtualizer.getVirtualItems().map((item) => {
            const m = models[item.index]!;
            return (
              <div
                key={item.key}
                class={`vtable-row${m.retired ? ' retired' : ''}`}
                role="row"
                aria-rowindex={item.index + 2}
                style={{ transform: `translateY(${item.start - HEADER_HEIGHT}px)` }}
              >
                <div class="vtable-cell" role="cell" title={m.id}>
                  <a href={modelHref(m.id)}>{m.id}</a>
                </div>
                <div class="vtable-cell" role="cell" title={m.modelType}>
                  {m.modelType}
                </div>
                <div class="vtable-cell" role="cell" title={m.surface}>
                  {m.surface}
                </div>
                <div class="vtable-cell" role="cell" title={stageLabel(m.funnelStage)}>
                  {stageLabel(m.funnelStage)}
                </div>
                <div class="vtable-cell" role="cell">
                  <TierBadge tier={m.tier} />
                </div>
                <div class="vtable-cell" role="cell" title={`${m.team}; on-call: ${m.oncall}`}>
                  <a href={teamHref(m.team)}>{m.team}</a>
                </div>
                <div class="vtable-cell" role="cell">
                  <RoleBadge role={m.role} />
                </div>
                <div class="vtable-cell num" role="cell">
                  {shareLabel(m.trafficShare)}
                </div>
                <div class="vtable-cell" role="cell">
                  <StatusBadge status={m.status} />
                </div>
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}
