import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { criticalityObligations } from '../registry/criticalityPolicy.js';
import type { StoredModel, StoredModelType } from '../registry/entry.js';
import { ExtensionValidator } from '../registry/extensionValidation.js';
import { checkModelTypeInvariants } from '../registry/invariants.js';
import { ModelInputSchema } from '../registry/model.js';
import { ModelTypeInputSchema } from '../registry/modelType.js';
import { defaultRegistrySettings } from '../registry/settings.js';
import { checkSpec } from '../registry/specs.js';
import { TeamInputSchema } from '../registry/team.js';
import { Criticality, isLiveRole } from '../registry/vocabulary.js';
import { FLEET_SURFACES, generateFleet, type Fleet } from './fleet.js';

const fleet = generateFleet();

function modelsByType(f: Fleet): Map<string, Fleet['models']> {
  const byType = new Map<string, Fleet['models']>();
  for (const model of f.models) {
    const type = model.id.slice(0, model.id.lastIndexOf(':'));
    const list = byType.get(type) ?? [];
    list.push(model);
    byType.set(type, list);
  }
  return byType;
}

describe('generateFleet', () => {
  it('has the size and coverage of a real fleet', () => {
    assert.equal(fleet.models.length, 1200);
    assert.ok(fleet.modelTypes.length >= 150, `${fleet.modelTypes.length} types`);
    assert.ok(fleet.teams.length >= 10, `${fleet.teams.length} teams`);
    const tiers = new Set(fleet.modelTypes.map((t) => t.criticality));
    for (const tier of Criticality) assert.ok(tiers.has(tier), `no ${tier} type`);
    const stages = new Set(fleet.modelTypes.map((t) => t.funnelStage));
    for (const stage of ['retrieval', 'early_stage_ranking', 'late_stage_ranking'] as const) assert.ok(stages.has(stage), `no ${stage} type`);
    const surfaces = new Set(fleet.modelTypes.map((t) => t.name.split('_')[1]));
    for (const surface of FLEET_SURFACES) assert.ok(surfaces.has(surface), `no ${surface} type`);
    const roles = new Set(fleet.models.map((m) => m.role));
    for (const role of ['candidate', 'experiment', 'shadow', 'baseline', 'holdout', 'retired'] as const) assert.ok(roles.has(role), `no ${role} model`);
  });

  it('is valid input for every schema', () => {
    for (const team of fleet.teams) TeamInputSchema.parse(team);
    for (const type of fleet.modelTypes) ModelTypeInputSchema.parse(type);
    for (const model of fleet.models) ModelInputSchema.parse(model);
  });

  it('passes the per-entry registry checks (name grammar, ids, criticality obligations)', () => {
    for (const [kind, entries] of [['team', fleet.teams], ['modelType', fleet.modelTypes], ['model', fleet.models]] as const) {
      for (const entry of entries) {
        const result = checkSpec(kind, entry, defaultRegistrySettings);
        assert.deepEqual(result.problems, [], JSON.stringify(entry));
      }
    }
  });

  it('has unique names and owners that exist', () => {
    const teams = new Set(fleet.teams.map((t) => t.name));
    assert.equal(teams.size, fleet.teams.length);
    assert.equal(new Set(fleet.modelTypes.map((t) => t.name)).size, fleet.modelTypes.length);
    assert.equal(new Set(fleet.models.map((m) => m.id)).size, fleet.models.length);
    for (const type of fleet.modelTypes) assert.ok(teams.has(type.ownerTeam), `${type.name} owned by unknown ${type.ownerTeam}`);
    for (const type of fleet.modelTypes) {
      assert.equal(type.baselineModelId, undefined);
      assert.equal(type.holdoutModelId, undefined);
    }
    for (const model of fleet.models) assert.equal(model.modelType, undefined);
  });

  it('keeps the cross-entry invariants of every model type', () => {
    const byType = modelsByType(fleet);
    const teams = new Set(fleet.teams.map((t) => t.name));
    const context = { hasTeam: (name: string) => teams.has(name), extensions: new ExtensionValidator([]) };
    const meta = { version: 1, createdAt: '2024-05-01T00:00:00Z', updatedAt: '2024-05-01T00:00:00Z' };
    const typeNames = new Set(fleet.modelTypes.map((t) => t.name));
    for (const name of byType.keys()) assert.ok(typeNames.has(name), `models of unknown type ${name}`);

    for (const input of fleet.modelTypes) {
      const spec = ModelTypeInputSchema.parse(input);
      const models = byType.get(spec.name) ?? [];
      const type: StoredModelType = { ...meta, spec, baselineModelId: null, holdoutModelId: null };
      const stored = new Map<string, StoredModel>(
        models.map((m) => [m.id, { ...meta, spec: { ...ModelInputSchema.parse(m), modelType: spec.name } }]),
      );
      const { problems } = checkModelTypeInvariants({ name: spec.name, type, models: stored }, context);
      assert.deepEqual(problems, [], spec.name);

      // The same rules, spelled out, so a change to the registry cannot make this test vacuous.
      assert.ok(models.filter((m) => m.role === 'baseline').length <= 1, `${spec.name}: several baselines`);
      assert.ok(models.filter((m) => m.role === 'holdout').length <= 1, `${spec.name}: several holdouts`);
      const live = models.filter((m) => isLiveRole(m.role)).reduce((sum, m) => sum + (m.trafficShare ?? 0), 0);
      assert.ok(live <= 1 + 1e-9, `${spec.name}: live shares sum to ${live}`);
      const tasks = new Set(spec.tasks.map((t) => t.name));
      assert.ok(tasks.size >= 1 && tasks.size <= 8, `${spec.name}: ${tasks.size} tasks`);
      for (const model of models) {
        for (const task of Object.keys(model.thresholds ?? {})) assert.ok(tasks.has(task), `${model.id}: threshold for ${task}`);
        if (model.role === 'retired' || model.role === 'shadow' || model.role === 'candidate') assert.equal(model.trafficShare, 0, model.id);
      }
    }
  });

  it('gives TIER0 and TIER1 types 24x7 on-call and a justification', () => {
    const high = fleet.modelTypes.filter((t) => t.criticality === 'TIER0' || t.criticality === 'TIER1');
    assert.ok(high.length > 0);
    for (const type of high) {
      assert.equal(type.oncall.coverage, '24x7', type.name);
      assert.ok(type.criticalityJustification, type.name);
      assert.ok(type.criticalityJustification.businessMetrics.length > 0, type.name);
      assert.ok((type.criticalityJustification.rationale ?? '').length > 0, type.name);
      assert.deepEqual(criticalityObligations(ModelTypeInputSchema.parse(type)), [], type.name);
    }
  });

  it('is deterministic for a seed and varies across seeds', () => {
    assert.deepEqual(generateFleet(), fleet);
    assert.deepEqual(generateFleet({ seed: 7 }), generateFleet({ seed: 7 }));
    assert.notDeepEqual(generateFleet({ seed: 7 }), generateFleet({ seed: 8 }));
  });

  it('meets the requested model count exactly, small and large', () => {
    for (const models of [0, 1, 7, 9, 1201, 5000]) {
      const f = generateFleet({ seed: 3, models });
      assert.equal(f.models.length, models);
      assert.equal(f.modelTypes.length, Math.ceil(models / 8));
    }
    const large = generateFleet({ models: 100_000 });
    assert.equal(large.models.length, 100_000);
    assert.equal(new Set(large.models.map((m) => m.id)).size, 100_000);
    assert.equal(new Set(large.modelTypes.map((t) => t.name)).size, large.modelTypes.length);
    const byType = modelsByType(large);
    for (const [name, models] of byType) {
      assert.ok(models.filter((m) => m.role === 'baseline').length <= 1, name);
      const live = models.filter((m) => isLiveRole(m.role)).reduce((sum, m) => sum + (m.trafficShare ?? 0), 0);
      assert.ok(live <= 1 + 1e-9, name);
    }
    for (const type of large.modelTypes) assert.ok(checkSpec('modelType', type, defaultRegistrySettings).problems.length === 0, type.name);
  });

  it('rejects nonsense options', () => {
    assert.throws(() => generateFleet({ models: -1 }), RangeError);
    assert.throws(() => generateFleet({ models: 1.5 }), RangeError);
    assert.throws(() => generateFleet({ seed: Number.NaN }), RangeError);
  });
});
