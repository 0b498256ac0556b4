import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ModelStatus } from '../stability/evaluation.js';
import { isMonitored } from '../stability/evaluator.js';
import { buildCatalog, CATALOG_FIELDS, catalogStatus, type CatalogRow } from './catalog.js';
import type { Model } from './model.js';
import type { ModelType } from './modelType.js';

const type = (name: string, extra: Partial<ModelType> = {}): ModelType => {
  const [app, surface, ...rest] = name.split('_');
  return {
    name,
    description: 'ranks things',
    funnelStage: 'late_stage_ranking',
    ownerTeam: 'feed-ranking',
    oncall: { rotation: 'feed-oncall', coverage: 'business_hours' },
    criticality: 'TIER2',
    criticalityJustification: null,
    tasks: [{ name: 'PLIKE', description: '' }],
    baselineModelId: null,
    holdoutModelId: null,
    extended: {},
    tags: [],
    parsed: { app: app!, surface: surface!, subsurfaces: rest.slice(0, -1), architecture: rest.at(-1)! },
    pendingApproval: null,
    version: 1,
    createdAt: '',
    updatedAt: '',
    ...extra,
  };
};

const thresholds = { PLIKE: { calibration: { min: 0.9, max: 1.1 }, neMax: 0.9, minPositives: 0, source: 'static' as const } };

const model = (id: string, role: Model['role'], extra: Partial<Model> = {}): Model => ({
  id,
  modelType: id.slice(0, id.indexOf(':')),
  role,
  trafficShare: 0,
  assets: [],
  thresholds: {},
  capacity: null,
  extended: {},
  tags: [],
  effectiveCriticality: 'TIER2',
  version: 1,
  createdAt: '',
  updatedAt: '',
  ...extra,
});

const types = [
  type('ig_feed_main_mtml', { criticality: 'TIER0', oncall: { rotation: 'feed-24x7', coverage: '24x7' } }),
  type('fb_stories_tray_dlrm', { funnelStage: 'retrieval', ownerTeam: 'stories-ranking', oncall: { rotation: 'stories-oncall', coverage: 'business_hours' } }),
];
const models = [
  model('ig_feed_main_mtml:v2', 'experiment', { trafficShare: 0.1, thresholds, effectiveCriticality: 'TIER0' }),
  model('ig_feed_main_mtml:v1', 'baseline', { trafficShare: 0.9, thresholds, effectiveCriticality: 'TIER0' }),
  model('ig_feed_main_mtml:v0', 'retired', { thresholds, effectiveCriticality: 'TIER0' }),
  model('fb_stories_tray_dlrm:v1', 'baseline', { trafficShare: 1, thresholds, effectiveCriticality: 'TIER3' }),
  model('fb_stories_tray_dlrm:v2', 'shadow'),
  model('xx_orphan_mtml:v1', 'candidate'),
];
// The retired model's old verdict stays in the store; the catalog must not show it as current.
const statuses = new Map<string, ModelStatus>([
  ['ig_feed_main_mtml:v2', 'unstable'],
  ['ig_feed_main_mtml:v1', 'stable'],
  ['ig_feed_main_mtml:v0', 'stable'],
]);

test('one row per model with a known type, by id, in the order the fields name', () => {
  const catalog = buildCatalog({ types, models, statuses, seq: 42, evaluatedAt: 1_764_000_000_000 });
  assert.deepEqual(catalog.fields, CATALOG_FIELDS);
  assert.equal(catalog.seq, 42);
  assert.equal(catalog.evaluatedAt, 1_764_000_000_000);
  assert.deepEqual(
    catalog.rows.map((r) => r[0]),
    ['fb_stories_tray_dlrm:v1', 'fb_stories_tray_dlrm:v2', 'ig_feed_main_mtml:v0', 'ig_feed_main_mtml:v1', 'ig_feed_main_mtml:v2'],
  );
  const byId = new Map(catalog.rows.map((r) => [r[0], r]));
  assert.deepEqual(byId.get('ig_feed_main_mtml:v2'), [
    'ig_feed_main_mtml:v2',
    'ig_feed_main_mtml',
    'feed',
    'late_stage_ranking',
    'TIER0',
    'feed-ranking',
    'feed-24x7',
    'experiment',
    0.1,
    'unstable',
    false,
  ] satisfies CatalogRow);
  assert.deepEqual(byId.get('fb_stories_tray_dlrm:v1')!.slice(2, 7), ['stories', 'retrieval', 'TIER3', 'stories-ranking', 'stories-oncall']);
});

test('status: the latest verdict when monitored, insufficient data before one, unmonitored without thresholds or when retired', () => {
  const { rows } = buildCatalog({ types, models, statuses, seq: 1, evaluatedAt: null });
  const status = (id: string) => rows.find((r) => r[0] === id)![9];
  const retired = (id: string) => rows.find((r) => r[0] === id)![10];
  assert.equal(status('ig_feed_main_mtml:v1'), 'stable');
  assert.equal(status('fb_stories_tray_dlrm:v1'), 'insufficient_data');
  assert.equal(status('fb_stories_tray_dlrm:v2'), 'unmonitored');
  assert.equal(status('ig_feed_main_mtml:v0'), 'unmonitored');
  assert.equal(retired('ig_feed_main_mtml:v0'), true);
  assert.equal(retired('ig_feed_main_mtml:v1'), false);
});

test('a live model is monitored exactly when the stability engine evaluates it', () => {
  for (const m of models.filter((x) => x.role !== 'retired')) {
    const type = types.find((t) => t.name === m.modelType) ?? types[0]!;
    const engine = isMonitored({ model: m, type, tasks: new Set(type.tasks.map((t) => t.name)) });
    assert.equal(catalogStatus(m, new Map()) !== 'unmonitored', engine, m.id);
  }
});

test("the values of each filter: vocabularies in their own order (statuses worst first), names sorted, only values present", () => {
  const { values } = buildCatalog({ types, models, statuses, seq: 1, evaluatedAt: null });
  assert.deepEqual(values, {
    surface: ['feed', 'stories'],
    funnelStage: ['retrieval', 'late_stage_ranking'],
    tier: ['TIER0', 'TIER2', 'TIER3'],
    role: ['experiment', 'shadow', 'baseline', 'retired'],
    team: ['feed-ranking', 'stories-ranking'],
    status: ['unstable', 'insufficient_data', 'stable', 'unmonitored'],
  });
});

test('an empty registry is an empty catalog', () => {
  const catalog = buildCatalog({ types: [], models: [], statuses: new Map(), seq: 0, evaluatedAt: null });
  assert.deepEqual(catalog.rows, []);
  assert.deepEqual(catalog.values.status, []);
});
