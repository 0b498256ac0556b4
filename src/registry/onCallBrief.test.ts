import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Model } from './model.js';
import type { ModelType } from './modelType.js';
import { firstResponse, onCallBrief } from './onCallBrief.js';

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
  assert.match(brief, /end the experiment: its traffic \(2%\) goes back to the baseline ig_stories_tray_mtml:v41\. A safe first response/);
  assert.match(brief, /TIER1 \(business metrics: daily_active_users\)/);
  assert.match(brief, /team stories-ranking; on-call stories-oncall \(24x7\)/);
});

test('the baseline cannot be turned off: page the on-call rotation', () => {
  const brief = onCallBrief(model('baseline', { id: 'ig_stories_tray_mtml:v41', trafficShare: 0.95 }), type).join('\n');
  assert.match(brief, /page the owner: stories-oncall \(24x7\) and team stories-ranking; do not turn it off/);
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

test('the first response says which action applies: end an experiment, page for a baseline or holdout, tell for a retired model', () => {
  assert.equal(firstResponse(model('experiment'), type).kind, 'end_experiment');
  assert.equal(firstResponse(model('candidate'), type).kind, 'end_experiment');
  assert.equal(firstResponse(model('shadow', { trafficShare: 0 }), type).kind, 'end_experiment');
  assert.equal(firstResponse(model('experiment'), { ...type, baselineModelId: null }).kind, 'page_owner');
  assert.equal(firstResponse(model('baseline'), type).kind, 'page_owner');
  assert.equal(firstResponse(model('holdout'), type).kind, 'page_owner');
  assert.equal(firstResponse(model('retired'), type).kind, 'tell_owner');
});
