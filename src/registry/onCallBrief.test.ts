import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Model } from './model.js';
import type { ModelType } from './modelType.js';
import { onCallBrief } from './onCallBrief.js';

const type: ModelType = {
  name: 'ig_stories_tray_mtml',
  description: 'Ranks the stories in the main tray',
  funnelStage: 'late_stage_ranking',
  ownerTeam: 'stories-ranking',
  oncall: { rotation: 'stories-oncall', coverage: '24x7' },
  criticality: 'TIER1',
  criticalityJustification: { businessMetrics: ['daily_active_users'], rationale: '' },
  tasks: [{ name: 'PLIKE', description: '' }],
  baselineModelId: 'ig_stories_tray_mtml:v41',
  holdoutModelId: null,
  extended: {},
  tags: [],
  parsed: { app: 'ig', surface: 'stories', subsurfaces: ['tray'], architecture: 'mtml' },
  pendingApproval: null,
  version: 1,
  createdAt: '',
  updatedAt: '',
};

const model = (role: Model['role'], extra: Partial<Model> = {}): Model => ({
  id: 'ig_stories_tray_mtml:v42',
  modelType: 'ig_stories_tray_mtml',
  role,
  trafficShare: 0.02,
  assets: [],
  thresholds: {},
  capacity: null,
  extended: {},
  tags: [],
  effectiveCriticality: 'TIER1',
  version: 1,
  createdAt: '',
  updatedAt: '',
  ...extra,
});

test('an experiment can be ended, with its traffic moved back to the named baseline', () => {
  const brief = onCallBrief(model('experiment'), type).join('\n');
  assert.match(brief, /ig_stories_tray_mtml:v42: experiment, 2% of traffic/);
  assert.match(brief, /moving its 2% back to the baseline ig_stories_tray_mtml:v41 is a safe first response/);
  assert.match(brief, /TIER1 \(business metrics: daily_active_users\)/);
  assert.match(brief, /team stories-ranking; on-call stories-oncall \(24x7\)/);
});

test('the baseline cannot be turned off: page the on-call rotation', () => {
  const brief = onCallBrief(model('baseline', { id: 'ig_stories_tray_mtml:v41', trafficShare: 0.95 }), type).join('\n');
  assert.match(brief, /cannot simply be turned off\. Page stories-oncall \(24x7\)/);
});

test('an experiment of a type without a baseline says to page before turning it off', () => {
  const brief = onCallBrief(model('experiment'), { ...type, baselineModelId: null }).join('\n');
  assert.match(brief, /no baseline to move traffic back to: page stories-oncall/);
});

test('a lowered model shows both tiers', () => {
  const brief = onCallBrief(model('shadow', { effectiveCriticality: 'TIER3', trafficShare: 0 }), type).join('\n');
  assert.match(brief, /TIER3, lowered from the type's TIER1/);
  assert.match(brief, /serves no user traffic/);
});
