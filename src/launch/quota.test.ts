import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { teamPoolUsage, type PoolModel, type PoolTeam } from './quota.js';

const team = (quota: number | null): PoolTeam => ({ name: 'feed-ranking', quota, launchPolicy: 'auto_within_quota' });
const model = (id: string, role: PoolModel['role'], replicas: number, unitCost: number): PoolModel => ({ id, role, capacity: { replicas, unitCost } });

describe('teamPoolUsage', () => {
  test('used sums replicas x unit cost of live models; free is what is left after reservations', () => {
    const pool = teamPoolUsage({
      team: team(100),
      models: [model('t:base', 'baseline', 10, 2), model('t:exp', 'experiment', 3, 2), model('t:shadow', 'shadow', 1, 5)],
      reservations: [4, 6],
    });
    assert.equal(pool.team, 'feed-ranking');
    assert.equal(pool.launchPolicy, 'auto_within_quota');
    assert.equal(pool.quota, 100);
    assert.equal(pool.used, 20 + 6 + 5);
    assert.equal(pool.reserved, 10);
    assert.equal(pool.free, 100 - 31 - 10);
    assert.equal(pool.usedShare, 0.41);
    assert.deepEqual(
      pool.models.map((m) => [m.id, m.units]),
      [['t:base', 20], ['t:exp', 6], ['t:shadow', 5]],
    );
    assert.deepEqual(pool.models[0], { id: 't:base', role: 'baseline', replicas: 10, unitCost: 2, units: 20 });
  });

  test('retired models and models without a capacity profile hold nothing', () => {
    const pool = teamPoolUsage({
      team: team(50),
      models: [model('t:old', 'retired', 40, 1), { id: 't:new', role: 'candidate', capacity: null }, model('t:base', 'baseline', 5, 1)],
      reservations: [],
    });
    assert.equal(pool.used, 5);
    assert.equal(pool.reserved, 0);
    assert.equal(pool.free, 45);
    assert.deepEqual(pool.models.map((m) => m.id), ['t:base']);
  });

  test('without a quota, free and the used share are null but usage is still counted', () => {
    const pool = teamPoolUsage({ team: team(null), models: [model('t:base', 'baseline', 4, 3)], reservations: [2] });
    assert.equal(pool.quota, null);
    assert.equal(pool.used, 12);
    assert.equal(pool.reserved, 2);
    assert.equal(pool.free, null);
    assert.equal(pool.usedShare, null);
  });

  test('a team over its quota has negative free capacity', () => {
    const pool = teamPoolUsage({ team: team(10), models: [model('t:base', 'baseline', 8, 1)], reservations: [5] });
    assert.equal(pool.free, -3);
    assert.equal(pool.usedShare, 1.3);
  });

  test('a quota of 0 leaves nothing free and has no used share', () => {
    const pool = teamPoolUsage({ team: team(0), models: [], reservations: [] });
    assert.equal(pool.free, 0);
    assert.equal(pool.usedShare, null);
  });

  test('fractional unit costs add up without floating point drift', () => {
    const pool = teamPoolUsage({
      team: team(1),
      models: [model('t:a', 'experiment', 1, 0.1), model('t:b', 'experiment', 1, 0.2)],
      reservations: [0.1, 0.2],
    });
    assert.equal(pool.used, 0.3);
    assert.equal(pool.reserved, 0.3);
    assert.equal(pool.free, 0.4);
  });

  test('models with equal units are listed by id', () => {
    const pool = teamPoolUsage({ team: team(null), models: [model('t:b', 'experiment', 2, 1), model('t:a', 'shadow', 1, 2)], reservations: [] });
    assert.deepEqual(pool.models.map((m) => m.id), ['t:a', 't:b']);
  });
});
