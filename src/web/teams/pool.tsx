import type { TeamPool } from '../../launch/quota.js';
import { StackedBar } from '../overview/StackedBar.js';
import { units } from '../overview/describe.js';

/** The launch policies in words: what each lets a team's launches do without a person. */
export const POLICY: Record<TeamPool['launchPolicy'], { label: string; meaning: string }> = {
  auto_within_quota: { label: 'Automatic within quota', meaning: 'a launch that fits the quota goes ahead on its own' },
  no_capacity_regression: { label: 'No capacity regression', meaning: 'goes ahead on its own only when the candidate costs no more than the model it replaces' },
  manual: { label: 'Manual', meaning: 'a person approves every launch' },
};

/** What a quota of null means, said once for every page. */
export const NO_QUOTA = 'no quota: launches are never refused for capacity';

/**
 * A team's virtual pool as a bar (used | reserved | free, scaled to the quota, or to what is held when
 * over it) with the numbers beside it.
 */
export function PoolBar({ pool }: { pool: TeamPool }) {
  const held = pool.used + pool.reserved;
  const over = pool.quota !== null && held > pool.quota ? held - pool.quota : 0;
  return (
    <div class="pool-cell">
      {pool.quota !== null && (
        <StackedBar
          total={Math.max(pool.quota, held)}
          segments={[
            { value: pool.used, cls: 'seg-used', label: 'used' },
            { value: pool.reserved, cls: 'seg-reserved', label: 'reserved' },
            { value: Math.max(0, pool.free ?? 0), cls: 'seg-free', label: 'free' },
          ]}
        />
      )}
      <div class="numbers">
        used <strong data-testid="pool-used">{units(pool.used)}</strong> · reserved <strong data-testid="pool-reserved">{units(pool.reserved)}</strong> ·{' '}
        {pool.quota === null ? (
          <span data-testid="pool-quota" class="muted">
            {NO_QUOTA}
          </span>
        ) : (
          <>
            free <strong data-testid="pool-free">{units(pool.free)}</strong> of <strong data-testid="pool-quota">{units(pool.quota)}</strong>
            {pool.usedShare !== null && <span class="muted"> ({Math.round(pool.usedShare * 100)}% held)</span>}
          </>
        )}
      </div>
      {over > 0 && <div class="fine error-text">over its quota by {units(over)} units: new launches are refused until capacity is freed</div>}
    </div>
  );
}

/** The bar's colours, named. */
export function PoolLegend() {
  return (
    <ul class="bar-legend" aria-label="Pool bar legend">
      <li>
        <span class="swatch seg-used" aria-hidden="true" />
        used by live models
      </li>
      <li>
        <span class="swatch seg-reserved" aria-hidden="true" />
        reserved by running launches
      </li>
      <li>
        <span class="swatch seg-free" aria-hidden="true" />
        free for new launches
      </li>
    </ul>
  );
}
