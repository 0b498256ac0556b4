import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { systemActor } from '../src/registry/actor.js';
import type { ModelInput } from '../src/registry/model.js';
import type { ModelTypeInput } from '../src/registry/modelType.js';
import { generateFleet } from '../src/sim/fleet.js';
import { seedFleet } from '../src/sim/seedFleet.js';
import { forEachDatabase, TestServer } from './harness.js';

/**
 * The list endpoints against a generated fleet: every filter is checked against the answer computed
 * here from the generator's output, without the store's SQL, so a wrong join, comparison or escape
 * in the store shows up as a difference in ids.
 */

const TIERS = ['TIER0', 'TIER1', 'TIER2', 'TIER3', 'TIER4'] as const;
const ROLES = ['candidate', 'experiment', 'shadow', 'baseline', 'holdout', 'retired'] as const;
const STAGES = ['retrieval', 'early_stage_ranking', 'late_stage_ranking', 'other'] as const;

const fleet = generateFleet({ models: 600, seed: 11 });
// The generator gives models no tags; give some of them two overlapping cohorts to filter on.
fleet.models.forEach((model, i) => {
  const tags = [...(i % 3 === 0 ? ['cohort:a'] : []), ...(i % 5 === 0 ? ['cohort:b'] : [])];
  if (tags.length) model.tags = tags;
});

interface TypeFacts {
  name: string;
  app: string;
  surface: string;
  architecture: string;
  funnelStage: string;
  ownerTeam: string;
  criticality: string;
  tags: string[];
  /** The texts free-text search covers: name, description, owner team, tags and task names. */
  texts: string[];
}

interface ModelFacts {
  id: string;
  type: TypeFacts;
  role: string;
  effectiveCriticality: string;
  tags: string[];
  /** The texts free-text search covers: id, tags and asset URIs. */
  texts: string[];
}

const rank = (tier: string) => TIERS.indexOf(tier as (typeof TIERS)[number]);

function typeFacts(input: ModelTypeInput): TypeFacts {
  const parts = input.name.split('_');
  return {
    name: input.name,
    app: parts[0]!,
    surface: parts[1]!,
    architecture: parts[parts.length - 1]!,
    funnelStage: input.funnelStage,
    ownerTeam: input.ownerTeam,
    criticality: input.criticality,
    tags: input.tags ?? [],
    texts: [input.name, input.description, input.ownerTeam, ...(input.tags ?? []), ...input.tasks.map((t) => t.name)],
  };
}

function modelFacts(input: ModelInput, types: Map<string, TypeFacts>): ModelFacts {
  const type = types.get(input.id.slice(0, input.id.lastIndexOf(':')))!;
  // A model may lower its tier below its type's, never raise it.
  const effective = input.criticality && rank(input.criticality) > rank(type.criticality) ? input.criticality : type.criticality;
  return {
    id: input.id,
    type,
    role: input.role,
    effectiveCriticality: effective,
    tags: input.tags ?? [],
    texts: [input.id, ...(input.tags ?? []), ...(input.assets ?? []).map((a) => a.uri)],
  };
}

const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const sorted = (ids: Iterable<string>) => [...ids].sort(byCodeUnit);
const distinct = <T>(values: T[]) => [...new Set(values)].sort();
const matchesText = (texts: string[], q: string) => texts.some((t) => t.toLowerCase().includes(q.toLowerCase()));

forEachDatabase((db) => {
  describe(`registry lists over a generated fleet on ${db.name}`, () => {
    let server: TestServer;
    const types = new Map(fleet.modelTypes.map((t) => [t.name, typeFacts(t)]));
    const models = fleet.models.map((m) => modelFacts(m, types));

    before(async () => {
      server = await TestServer.start(db);
      await seedFleet(server.fleet.registry, systemActor, fleet);
    });
    after(() => server.close());

    /** Every item of a list, following cursors, asserting each page is within the limit. */
    async function walk(collection: string, query: Record<string, string>, limit: number): Promise<{ keys: string[]; pages: number; items: any[] }> {
      const items: any[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const params: URLSearchParams = new URLSearchParams({ ...query, limit: String(limit), ...(cursor ? { cursor } : {}) });
        const page: { status: number; body: { items: any[]; nextCursor: string | null } } = await server.call('GET', `/${collection}?${params}`);
        assert.equal(page.status, 200, JSON.stringify(page.body));
        assert.ok(page.body.items.length <= limit);
        if (page.body.nextCursor) assert.equal(page.body.items.length, limit, 'only the last page is short');
        items.push(...page.body.items);
        cursor = page.body.nextCursor;
        pages++;
        assert.ok(pages < 1000, 'cursor loop');
      } while (cursor);
      return { keys: items.map((i) => i.id ?? i.name), pages, items };
    }

    async function expectModels(query: Record<string, string>, predicate: (m: ModelFacts) => boolean): Promise<number> {
      const expected = sorted(models.filter(predicate).map((m) => m.id));
      const { keys } = await walk('models', query, 1000);
      assert.deepEqual(keys, expected, `GET /models?${new URLSearchParams(query)}`);
      return expected.length;
    }

    async function expectTypes(query: Record<string, string>, predicate: (t: TypeFacts) => boolean): Promise<number> {
      const expected = sorted([...types.values()].filter(predicate).map((t) => t.name));
      const { keys } = await walk('model-types', query, 1000);
      assert.deepEqual(keys, expected, `GET /model-types?${new URLSearchParams(query)}`);
      return expected.length;
    }

    test('the fleet is as large and as varied as the filters below need', () => {
      assert.equal(models.length, 600);
      assert.equal(types.size, 75);
      for (const tier of TIERS) assert.ok([...types.values()].some((t) => t.criticality === tier), tier);
      for (const role of ROLES) assert.ok(models.some((m) => m.role === role), role);
      assert.ok(models.filter((m) => m.effectiveCriticality !== m.type.criticality).length >= 3, 'some experiments are lowered');
      assert.ok(distinct([...types.values()].map((t) => t.app)).length >= 3);
    });

    test('each single filter of GET /model-types returns exactly the matching types', async () => {
      const all = [...types.values()];
      for (const app of distinct(all.map((t) => t.app))) assert.ok((await expectTypes({ app }, (t) => t.app === app)) > 0);
      for (const surface of distinct(all.map((t) => t.surface))) assert.ok((await expectTypes({ surface }, (t) => t.surface === surface)) > 0);
      for (const architecture of distinct(all.map((t) => t.architecture))) await expectTypes({ architecture }, (t) => t.architecture === architecture);
      for (const funnelStage of STAGES) assert.ok((await expectTypes({ funnelStage }, (t) => t.funnelStage === funnelStage)) > 0);
      for (const team of fleet.teams) await expectTypes({ ownerTeam: team.name }, (t) => t.ownerTeam === team.name);
      for (const criticality of TIERS) await expectTypes({ criticality }, (t) => t.criticality === criticality);
      for (const tag of ['subsurface:ads', 'arch:mtml', 'funnel:retrieval', 'app:threads']) await expectTypes({ tag }, (t) => t.tags.includes(tag));
      assert.equal(await expectTypes({ tag: 'surface' }, () => false), 0, 'tags match whole, not by prefix');
      // Free text: any case, over name, description, owner, tags and tasks.
      for (const q of ['PCOMMENT', 'Stories', 'coldstart', 'retrieval-infra', 'ads_', 'tray_mtml']) {
        assert.ok((await expectTypes({ q }, (t) => matchesText(t.texts, q))) > 0, q);
      }
      // LIKE wildcards in q are literal characters: nothing contains a '%', and '_' is not "any character".
      assert.equal(await expectTypes({ q: '%' }, () => false), 0);
      assert.equal(await expectTypes({ q: 'ig%feed' }, () => false), 0);
      await expectTypes({ q: 'ig_feed' }, (t) => matchesText(t.texts, 'ig_feed'));
      await expectTypes({ q: 'nothing-is-called-this' }, () => false);
    });

    test('each single filter of GET /models returns exactly the matching models', async () => {
      const all = [...types.values()];
      for (const app of distinct(all.map((t) => t.app))) await expectModels({ app }, (m) => m.type.app === app);
      for (const surface of distinct(all.map((t) => t.surface))) await expectModels({ surface }, (m) => m.type.surface === surface);
      for (const architecture of distinct(all.map((t) => t.architecture))) await expectModels({ architecture }, (m) => m.type.architecture === architecture);
      for (const funnelStage of STAGES) await expectModels({ funnelStage }, (m) => m.type.funnelStage === funnelStage);
      for (const team of fleet.teams) await expectModels({ ownerTeam: team.name }, (m) => m.type.ownerTeam === team.name);
      for (const role of ROLES) assert.ok((await expectModels({ role }, (m) => m.role === role)) > 0, role);
      for (const name of [...types.keys()].filter((_, i) => i % 9 === 0)) assert.ok((await expectModels({ modelType: name }, (m) => m.type.name === name)) > 0);
      await expectModels({ modelType: 'ig_nosuch_thing_mtml' }, () => false);
      for (const tag of ['cohort:a', 'cohort:b']) assert.ok((await expectModels({ tag }, (m) => m.tags.includes(tag))) > 0, tag);
      for (const q of ['COHORT:B', 'manifold://models/ig_feed', 'service://', ':v1', 'flow://f1']) {
        assert.ok((await expectModels({ q }, (m) => matchesText(m.texts, q))) > 0, q);
      }
      assert.equal(await expectModels({ q: '%' }, () => false), 0);
      assert.equal(await expectModels({ q: 'ig_feed%mtml' }, () => false), 0);
    });

    test('the criticality filter of GET /models is the effective tier: a lowered model is found under its own tier', async () => {
      for (const criticality of TIERS) await expectModels({ criticality }, (m) => m.effectiveCriticality === criticality);
      const lowered = models.filter((m) => m.effectiveCriticality !== m.type.criticality);
      for (const model of lowered) {
        const underOwn = await walk('models', { modelType: model.type.name, criticality: model.effectiveCriticality }, 1000);
        assert.ok(underOwn.keys.includes(model.id), `${model.id} under ${model.effectiveCriticality}`);
        const underType = await walk('models', { modelType: model.type.name, criticality: model.type.criticality }, 1000);
        assert.ok(!underType.keys.includes(model.id), `${model.id} not under its type's ${model.type.criticality}`);
        assert.equal(underOwn.items.find((i) => i.id === model.id).effectiveCriticality, model.effectiveCriticality);
      }
    });

    test('combined filters return the intersection', async () => {
      const cases: Array<[Record<string, string>, (m: ModelFacts) => boolean]> = [
        [{ app: 'ig', surface: 'feed', role: 'baseline' }, (m) => m.type.app === 'ig' && m.type.surface === 'feed' && m.role === 'baseline'],
        [{ funnelStage: 'retrieval', ownerTeam: 'retrieval-infra' }, (m) => m.type.funnelStage === 'retrieval' && m.type.ownerTeam === 'retrieval-infra'],
        [{ role: 'experiment', criticality: 'TIER4' }, (m) => m.role === 'experiment' && m.effectiveCriticality === 'TIER4'],
        [{ tag: 'cohort:a', q: 'cohort:b' }, (m) => m.tags.includes('cohort:a') && m.tags.includes('cohort:b')],
        [{ architecture: 'mtml', criticality: 'TIER0', role: 'retired' }, (m) => m.type.architecture === 'mtml' && m.effectiveCriticality === 'TIER0' && m.role === 'retired'],
        [{ surface: 'reels', tag: 'cohort:b', funnelStage: 'late_stage_ranking' }, (m) => m.type.surface === 'reels' && m.tags.includes('cohort:b') && m.type.funnelStage === 'late_stage_ranking'],
        [{ app: 'fb', surface: 'search', architecture: 'twotower', role: 'holdout', tag: 'cohort:a' }, (m) => m.type.app === 'fb' && m.type.surface === 'search' && m.type.architecture === 'twotower' && m.role === 'holdout' && m.tags.includes('cohort:a')],
      ];
      let nonEmpty = 0;
      for (const [query, predicate] of cases) if ((await expectModels(query, predicate)) > 0) nonEmpty++;
      assert.ok(nonEmpty >= 4, 'most combinations match something');

      assert.ok((await expectTypes({ app: 'ig', criticality: 'TIER1', funnelStage: 'late_stage_ranking' }, (t) => t.app === 'ig' && t.criticality === 'TIER1' && t.funnelStage === 'late_stage_ranking')) > 0);
      await expectTypes({ ownerTeam: 'ads-ranking', tag: 'subsurface:ads', q: 'PCLICK' }, (t) => t.ownerTeam === 'ads-ranking' && t.tags.includes('subsurface:ads') && matchesText(t.texts, 'PCLICK'));

      // A filtered list pages like an unfiltered one.
      const query = { app: 'ig', role: 'experiment' };
      const expected = sorted(models.filter((m) => m.type.app === 'ig' && m.role === 'experiment').map((m) => m.id));
      const paged = await walk('models', query, 7);
      assert.deepEqual(paged.keys, expected);
      assert.ok(expected.length > 14);
      assert.equal(paged.pages, Math.ceil(expected.length / 7), 'a last full page has no cursor to an empty one');
    });

    test('unknown or malformed list parameters are refused, not ignored', async () => {
      const typo = await server.call('GET', '/models?surfce=feed');
      assert.equal(typo.status, 400);
      assert.match(JSON.stringify(typo.body.error), /surfce/);
      assert.equal((await server.call('GET', '/models?criticality=TIER9')).status, 400);
      assert.equal((await server.call('GET', '/models?role=champion')).status, 400);
      assert.equal((await server.call('GET', '/model-types?role=baseline')).status, 400, 'types have no role');
      assert.equal((await server.call('GET', '/models?limit=0')).status, 400);
      assert.equal((await server.call('GET', '/models?limit=1001')).status, 400);
      assert.equal((await server.call('GET', '/models?cursor=not-ours')).status, 400);
    });

    test('limit=37 walks every model once, in ascending id order, with no gaps', async () => {
      const { keys, pages, items } = await walk('models', {}, 37);
      assert.equal(pages, Math.ceil(600 / 37));
      assert.equal(new Set(keys).size, keys.length, 'no duplicates');
      assert.deepEqual(keys, sorted(models.map((m) => m.id)), 'no gaps, ascending');
      // Each item is the full model with its effective tier.
      const sample = models[17]!;
      const item = items.find((i) => i.id === sample.id);
      assert.equal(item.modelType, sample.type.name);
      assert.equal(item.effectiveCriticality, sample.effectiveCriticality);

      const typesWalk = await walk('model-types', {}, 37);
      assert.deepEqual(typesWalk.keys, sorted(types.keys()));
      assert.equal(typesWalk.pages, 3);
    });

    test('a walk stays stable when writes happen between pages', async () => {
      const order = sorted(models.map((m) => m.id));
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      let wrote = false;
      // Filled in after the first pages: what the walk must then see.
      let expected: string[] = [];
      do {
        const page: { body: { items: Array<{ id: string }>; nextCursor: string | null } } = await server.call('GET', `/models?limit=37${cursor ? `&cursor=${cursor}` : ''}`);
        seen.push(...page.body.items.map((i) => i.id));
        cursor = page.body.nextCursor;
        pages++;
        if (pages === 3 && !wrote) {
          wrote = true;
          const last = seen[seen.length - 1]!;
          const passedType = types.get(order[0]!.slice(0, order[0]!.lastIndexOf(':')))!.name;
          const aheadType = types.get(order[order.length - 1]!.slice(0, order[order.length - 1]!.lastIndexOf(':')))!.name;
          const behind = `${passedType}:zz-new`;
          const ahead = `${aheadType}:zz-new`;
          assert.ok(behind < last && ahead > last);
          for (const id of [behind, ahead]) {
            const created = await server.call('POST', '/models', { body: { id, role: 'candidate' } });
            assert.equal(created.status, 201, JSON.stringify(created.body));
          }
          // Updates to a seen and an unseen model move nothing; deleting an unseen model removes it from the rest.
          const seenModel = seen[5]!;
          const unseenModel = order.find((id) => id > last && models.find((m) => m.id === id)!.role === 'candidate')!;
          const doomed = order.find((id) => id > last && id !== unseenModel && models.find((m) => m.id === id)!.role === 'retired')!;
          for (const id of [seenModel, unseenModel]) {
            const patched = await server.call('PATCH', `/models/${encodeURIComponent(id)}`, { body: { tags: ['touched'] }, headers: { 'if-match': '"1"' }, contentType: 'application/merge-patch+json' });
            assert.equal(patched.status, 200, JSON.stringify(patched.body));
          }
          const deleted = await server.call('DELETE', `/models/${encodeURIComponent(doomed)}`, { headers: { 'if-match': '"1"' } });
          assert.equal(deleted.status, 204);
          expected = sorted([...order.filter((id) => id !== doomed), ahead]);
          // The walk never sees `behind`: it was created before the cursor.
        }
      } while (cursor);
      assert.equal(new Set(seen).size, seen.length, 'no duplicates');
      assert.deepEqual(seen, expected);
      assert.deepEqual(seen, sorted(seen));
    });

    test('teams list: every team with its fields, paged, and searchable', async () => {
      const { keys, items, pages } = await walk('teams', {}, 4);
      assert.deepEqual(keys, sorted(fleet.teams.map((t) => t.name)));
      assert.equal(pages, Math.ceil(fleet.teams.length / 4));
      for (const team of fleet.teams) {
        const item = items.find((i) => i.name === team.name);
        assert.equal(item.description, team.description);
        assert.equal(item.oncallRotation, team.oncallRotation);
        assert.deepEqual(item.members, []);
        assert.equal(item.version, 1);
      }
      const member = await server.token('lister', 'member', 'tagging');
      assert.ok(member);
      const tagging = await walk('teams', { q: 'tagging' }, 100);
      assert.deepEqual(tagging.keys, ['tagging']);
      assert.deepEqual(tagging.items[0].members, ['lister']);
      // Free text over names and descriptions, in any case.
      for (const q of ['Stories', 'ANN indexes', 'ranking']) {
        const expected = sorted(fleet.teams.filter((t) => matchesText([t.name, t.description ?? ''], q)).map((t) => t.name));
        assert.ok(expected.length > 0);
        assert.deepEqual((await walk('teams', { q }, 100)).keys, expected, q);
      }
      assert.deepEqual((await walk('teams', { q: '%' }, 100)).keys, []);
      // The words of the stored document's field names are not the team's text.
      for (const q of ['description', 'oncallRotation', '"name"', '{']) assert.deepEqual((await walk('teams', { q }, 100)).keys, [], q);
      assert.deepEqual((await walk('teams', { q: 'Tagging-Oncall' }, 100)).keys, ['tagging'], 'the on-call rotation is searchable');
      // Quotes, backslashes and LIKE wildcards in a description are found as written.
      const created = await server.call('POST', '/teams', { body: { name: 'odd-chars', description: 'Owns the "hot" path: 50% of feed_main, C:\\models' } });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      for (const q of ['"hot"', '50%', 'feed_main', 'c:\\models']) assert.deepEqual((await walk('teams', { q }, 100)).keys, ['odd-chars'], q);
      assert.deepEqual((await walk('teams', { q: 'feed-main' }, 100)).keys, [], "'_' is not a wildcard");
    });
  });
});
