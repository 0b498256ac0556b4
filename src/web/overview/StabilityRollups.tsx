import type { ComponentChild } from 'preact';
import type { Rollup } from './apiTypes.js';
import { TierBadge } from '../components/Badges.js';
import { fmt } from '../components/format.js';
import { registryHref, words, type RegistryFilter } from './describe.js';
import { StackedBar } from './StackedBar.js';

export interface RollupTableProps {
  /** The table's caption and the first column's header. */
  title: string;
  dimension: string;
  rows: Rollup[];
  /** The registry filter that selects one row's models. */
  filterOf: (key: string) => RegistryFilter;
  /** How a row's key reads; default: the key with underscores as spaces. */
  labelOf?: (key: string) => ComponentChild;
  testId: string;
}

/**
 * A heat-table of stability counts by one dimension (surface, funnel stage, tier, team): unstable
 * counts stand out in red, each row and each unstable count opens the registry filtered to those models.
 */
export function RollupTable({ title, dimension, rows, filterOf, labelOf, testId }: RollupTableProps) {
  return (
    <section class="panel spaced" aria-labelledby={`${testId}-title`}>
      <h3 id={`${testId}-title`}>{title}</h3>
      {rows.length === 0 ? (
        <p class="muted">No monitored models yet: a model is monitored once it has thresholds for its tasks.</p>
      ) : (
        <table class="rollup" data-testid={testId}>
          <thead>
            <tr>
              <th scope="col">{dimension}</th>
              <th scope="col" class="num">
                Monitored
              </th>
              <th scope="col" class="num">
                Unstable
              </th>
              <th scope="col" class="num">
                Stable
              </th>
              <th scope="col" class="num">
                Insufficient data
              </th>
              <th scope="col" class="bar-col">
                <span class="visually-hidden">Share of models by status</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => {
              const filter = filterOf(row.key);
              return (
                <tr key={row.key} data-key={row.key}>
                  <th scope="row">
                    <a href={registryHref(filter)}>{labelOf ? labelOf(row.key) : words(row.key)}</a>
                  </th>
                  <td class="num">{fmt.int(row.models)}</td>
                  <td class={`num${row.unstable > 0 ? ' heat-bad' : ''}`}>
                    {row.unstable > 0 ? (
                      <a href={registryHref({ ...filter, status: 'unstable' })} aria-label={`${row.unstable} unstable in ${words(row.key)}`}>
                        {fmt.int(row.unstable)}
                      </a>
                    ) : (
                      '0'
                    )}
                  </td>
                  <td class="num">{fmt.int(row.stable)}</td>
                  <td class="num muted">{fmt.int(row.insufficientData)}</td>
                  <td class="bar-col">
                    <StackedBar
                      thin
                      segments={[
                        { value: row.unstable, cls: 'seg-bad', label: 'unstable' },
                        { value: row.stable, cls: 'seg-ok', label: 'stable' },
                        { value: row.insufficientData, cls: 'seg-unknown', label: 'insufficient data' },
                      ]}
                    />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** The tier rollup's rows read as badges. */
export const tierLabel = (key: string) => <TierBadge tier={key} />;
