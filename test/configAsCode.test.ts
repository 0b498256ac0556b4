import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { systemActor } from '../src/registry/actor.js';
import { generateFleet } from '../src/sim/fleet.js';
import { seedFleet } from '../src/sim/seedFleet.js';
import { forEachDatabase, sample, seed, TestServer } from './harness.js';
import { runCli, showRun } from './cliRunner.js';

const cli = (server: TestServer, cwd: string, args: string[]) => runCli(server.url, args, { cwd });
const show = showRun;

/** 1-based line where the YAML document holding `marker` starts (its `kind:` line), as plan reports it. */
function documentLineOf(text: string, marker: string): number {
  const lines = text.split('\n');
  for (let i = lineOf(text, marker) - 1; i >= 0; i--) if (lines[i]!.startsWith('kind: ')) return i + 1;
  throw new Error(`no document start above '${marker}'`);
}

/** 1-based line of the first line of `text` containing `marker` (the tests write the YAML, so they know where things are). */
function lineOf(text: string, marker: string, occurrence = 1): number {
  let seen = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.includes(marker) && ++seen === occurrence) return i + 1;
  }
  throw new Error(`marker '${marker}' (#${occurrence}) not in text`);
}

function writeFiles(root: string, dir: string, files: Record<string, string>): void {
  rmSync(join(root, dir), { recursive: true, force: true });
  mkdirSync(join(root, dir), { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(root, dir, name), text);
}

const teamDoc = (name: string) => `kind: Team
name: ${name}
description: ${name} team
oncallRotation: ${name}-oncall
`;

const typeDoc = (name: string, team: string, options: { description?: string; criticality?: string; tasks?: string[] } = {}) => `kind: ModelType
name: ${name}
description: ${options.description ?? `Ranks things for ${name}`}
funnelStage: late_stage_ranking
ownerTeam: ${team}
oncall:
  rotation: ${team}-oncall
  coverage: business_hours
criticality: ${options.criticality ?? 'TIER3'}
tasks:
${(options.tasks ?? ['PCLICK', 'PLIKE']).map((t) => `  - name: ${t}\n    description: probability of ${t.slice(1).toLowerCase()}`).join('\n')}
`;

const modelDoc = (id: string, role: string, share: number, extra = '') => `kind: Model
id: ${id}
role: ${role}
trafficShare: ${share}
${extra}`;

const docs = (...parts: string[]) => parts.join('---\n');

// The config directory the plan/apply/prune cases evolve, in two files.
const SEARCH_TYPE = 'ig_cacsearch_results_gbdt';
const PEOPLE_TYPE = 'ig_cacsearch_people_lr';
const searchFile = (v2Share = 0.1, typeDescription = 'Ranks search results', withV3 = true) =>
  docs(
    teamDoc('cac-search'),
    typeDoc(SEARCH_TYPE, 'cac-search', { description: typeDescription }),
    modelDoc(`${SEARCH_TYPE}:v1`, 'baseline', 0.8, 'tags:\n  - prod\n'),
    modelDoc(`${SEARCH_TYPE}:v2`, 'experiment', v2Share),
    ...(withV3
      ? [
          modelDoc(
            `${SEARCH_TYPE}:v3`,
            'experiment',
            0.05,
            'thresholds:\n  PCLICK:\n    calibration: {min: 0.9, max: 1.1}\n    neMax: 0.95\n',
          ),
        ]
      : []),
  );
const peopleFile = () => docs(typeDoc(PEOPLE_TYPE, 'cac-search', { tasks: ['PTAG'] }), modelDoc(`${PEOPLE_TYPE}:v1`, 'baseline', 1));

// Entries that only exist on the server: the directories never declare them.
const OTHER_TYPE = 'ig_cacother_main_gbdt';

forEachDatabase((db) => {
  describe(`config as code through the CLI on ${db.name}`, () => {
    let server: TestServer;
    let work: string;
    const run = (...args: string[]) => cli(server, work, args);
    const status = async (path: string) => (await server.call('GET', path)).status;

    before(async () => {
      server = await TestServer.start(db);
      work = mkdtempSync(join(tmpdir(), 'modelfleet-cac-'));
      await seed(server, {
        teams: [sample.team('cac-other')],
        modelTypes: [sample.modelType(OTHER_TYPE, 'cac-other', { criticality: 'TIER3' })],
        models: [
          sample.model(`${OTHER_TYPE}:v1`, { role: 'baseline', trafficShare: 0.8 }),
          sample.model(`${OTHER_TYPE}:v2`, { role: 'experiment', trafficShare: 0.1 }),
          sample.model(`${OTHER_TYPE}:v3`, { role: 'candidate', trafficShare: 0 }),
        ],
      });
    });
    after(async () => {
      await server.close();
      rmSync(work, { recursive: true, force: true });
    });

    test('validate accepts a valid directory with exit 0', async () => {
      writeFiles(work, 'valid', { 'search.yaml': searchFile(), 'people.yml': peopleFile() });
      const result = await run('validate', 'valid');
      assert.equal(result.code, 0, show(result));
      assert.match(result.stdout, /^7 document\(s\) in valid are valid\.$/m);
    });

    test('validate reports every problem as file:line and exits non-zero, sending nothing', async () => {
      const types = docs(
        teamDoc('cac-bad'),
        `${typeDoc('ig_cacbad_main_dnn', 'cac-bad')}bogusField: 1\n`,
        typeDoc('ig_cacbad_main_notanarch', 'cac-bad'),
        teamDoc('cac-bad'),
      );
      const broken = 'kind: Team\nname: cac-broken\ndescription: "never closed\n';
      writeFiles(work, 'invalid', { 'types.yaml': types, 'broken.yaml': broken });
      // plan and apply refuse the same directory before reaching the server.
      const [result, ...refusals] = await Promise.all([run('validate', 'invalid'), run('plan', 'invalid'), run('apply', 'invalid')]);
      assert.equal(result.code, 1, show(result));
      const problems = result.stderr.split('\n').filter((l) => /^invalid\/\S+:\d+: /.test(l));
      assert.equal(problems.length, 4, show(result));
      const expect = (file: string, line: number, rest: RegExp) =>
        assert.ok(
          problems.some((p) => p.startsWith(`invalid/${file}:${line}: `) && rest.test(p)),
          `expected invalid/${file}:${line}: ${rest} in\n${result.stderr}`,
        );
      expect('types.yaml', lineOf(types, 'bogusField'), /bogusField: unknown field 'bogusField'/);
      expect('types.yaml', lineOf(types, 'name: ig_cacbad_main_notanarch'), /name: unknown architecture 'notanarch'/);
      expect('types.yaml', lineOf(types, 'name: cac-bad', 2), /name: team 'cac-bad' is declared twice, at invalid\/types\.yaml:2 /);
      expect('broken.yaml', lineOf(broken, 'description:'), /\(yaml\): YAML syntax error/);
      assert.match(result.stderr, /4 problem\(s\) in invalid; nothing was sent to the server/);

      for (const refused of refusals) {
        assert.equal(refused.code, 1, show(refused));
        assert.match(refused.stderr, /invalid\/types\.yaml:\d+: bogusField/);
      }
      assert.equal(await status('/teams/cac-bad'), 404);
      assert.equal(await status('/teams/cac-broken'), 404);
    });

    test('plan on a new directory lists creates and writes nothing', async () => {
      writeFiles(work, 'app', { 'search.yaml': searchFile(), 'people.yaml': peopleFile() });
      const seqBefore = (await server.call('GET', '/changes?limit=1000')).body.lastSeq;
      const result = await run('plan', 'app');
      assert.equal(result.code, 0, show(result));
      const text = searchFile();
      assert.match(result.stdout, /^ {2}\+ team cac-search {2}\(app\/search\.yaml:1\)$/m);
      assert.match(result.stdout, new RegExp(`^  \\+ model_type ${SEARCH_TYPE}  \\(app/search\\.yaml:${lineOf(text, 'kind: ModelType')}\\)$`, 'm'));
      assert.match(result.stdout, new RegExp(`^  \\+ model_type ${PEOPLE_TYPE}  \\(app/people\\.yaml:1\\)$`, 'm'));
      for (const v of ['v1', 'v2', 'v3']) assert.match(result.stdout, new RegExp(`^  \\+ model ${SEARCH_TYPE}:${v} `, 'm'));
      assert.match(result.stdout, new RegExp(`^  \\+ model ${PEOPLE_TYPE}:v1 `, 'm'));
      // Teams before types before models, whatever the file order.
      const order = result.stdout.split('\n').filter((l) => /^ {2}\+ /.test(l)).map((l) => l.trim().split(' ')[1]);
      assert.deepEqual(order, ['team', 'model_type', 'model_type', 'model', 'model', 'model', 'model']);
      assert.match(result.stdout, /^Plan: 7 to create, 0 to change, 0 to delete\.$/m);

      assert.equal(await status('/teams/cac-search'), 404);
      assert.equal(await status(`/model-types/${SEARCH_TYPE}`), 404);
      assert.equal(await status(`/models/${SEARCH_TYPE}:v1`), 404);
      assert.equal((await server.call('GET', `/changes?after=${seqBefore}`)).body.items.length, 0);
    });

    test('apply creates everything in one transaction, then plan says No changes', async () => {
      const seqBefore = (await server.call('GET', '/changes?limit=1000')).body.lastSeq;
      const result = await run('apply', 'app', '--reason', 'first rollout');
      assert.equal(result.code, 0, show(result));
      assert.match(result.stdout, /^Applied: 7 create, 0 change, 0 delete\.$/m);

      const type = await server.call('GET', `/model-types/${SEARCH_TYPE}`);
      assert.equal(type.status, 200);
      assert.equal(type.body.baselineModelId, `${SEARCH_TYPE}:v1`);
      assert.equal(type.body.ownerTeam, 'cac-search');
      const v3 = await server.call('GET', `/models/${SEARCH_TYPE}:v3`);
      assert.equal(v3.body.thresholds.PCLICK.neMax, 0.95);
      assert.equal(v3.body.version, 1);
      assert.equal((await server.call('GET', `/models/${PEOPLE_TYPE}:v1`)).body.effectiveCriticality, 'TIER3');

      // One transaction: seven consecutive change records, one timestamp, one reason. (On PostgreSQL the
      // dry runs of plan consume sequence numbers too, so the first seq is not necessarily seqBefore + 1.)
      const changes = (await server.call('GET', `/changes?after=${seqBefore}`)).body.items as Array<{ seq: number; at: string; reason: string; action: string; actor: string }>;
      assert.equal(changes.length, 7);
      assert.deepEqual(changes.map((c) => c.seq), changes.map((_, i) => changes[0]!.seq + i));
      assert.equal(new Set(changes.map((c) => c.at)).size, 1);
      assert.ok(changes.every((c) => c.reason === 'first rollout' && c.action === 'create' && c.actor === 'admin'));

      const again = await run('plan', 'app');
      assert.equal(again.code, 0, show(again));
      assert.match(again.stdout, /^No changes\. The registry matches the configuration\.$/m);
      assert.doesNotMatch(again.stdout, /Plan:/);
    });

    test('editing fields shows ~ with path: old -> new; --detailed-exitcode is 2 with changes, 0 without', async () => {
      const unchanged = await run('plan', '--detailed-exitcode', 'app');
      assert.equal(unchanged.code, 0, show(unchanged));

      const text = searchFile(0.15, 'Ranks search results by query');
      writeFiles(work, 'app', { 'search.yaml': text, 'people.yaml': peopleFile() });
      const [plan, detailed] = await Promise.all([run('plan', 'app'), run('plan', '--detailed-exitcode', 'app')]);
      assert.equal(plan.code, 0, show(plan));
      const lines = plan.stdout.split('\n');
      const typeAt = lines.indexOf(`  ~ model_type ${SEARCH_TYPE}  (app/search.yaml:${lineOf(text, 'kind: ModelType')})`);
      assert.ok(typeAt >= 0, show(plan));
      assert.equal(lines[typeAt + 1], '      /description: "Ranks search results" -> "Ranks search results by query"');
      const modelAt = lines.indexOf(`  ~ model ${SEARCH_TYPE}:v2  (app/search.yaml:${documentLineOf(text, `id: ${SEARCH_TYPE}:v2`)})`);
      assert.ok(modelAt >= 0, show(plan));
      assert.equal(lines[modelAt + 1], '      /trafficShare: 0.1 -> 0.15');
      assert.match(plan.stdout, /^Plan: 0 to create, 2 to change, 0 to delete\.$/m);
      assert.equal((await server.call('GET', `/models/${SEARCH_TYPE}:v2`)).body.trafficShare, 0.1, 'plan wrote nothing');

      assert.equal(detailed.code, 2, show(detailed));
      assert.match(detailed.stdout, /Plan: 0 to create, 2 to change, 0 to delete\./);

      const applied = await run('apply', 'app');
      assert.equal(applied.code, 0, show(applied));
      assert.match(applied.stdout, /^Applied: 0 create, 2 change, 0 delete\.$/m);
      const v2 = await server.call('GET', `/models/${SEARCH_TYPE}:v2`);
      assert.equal(v2.body.trafficShare, 0.15);
      assert.equal(v2.body.version, 2);
      assert.equal((await server.call('GET', `/model-types/${SEARCH_TYPE}`)).body.version, 2);
      const clean = await run('plan', '--detailed-exitcode', 'app');
      assert.equal(clean.code, 0, show(clean));
      assert.match(clean.stdout, /No changes\./);
    });

    test('apply of a directory the server refuses fails non-zero and writes nothing at all', async () => {
      // The files are consistent on their own; only the server knows OTHER_TYPE already has a baseline.
      const clash = docs(
        teamDoc('cac-clash'),
        typeDoc('ig_cacclash_main_dnn', 'cac-clash'),
        modelDoc('ig_cacclash_main_dnn:v1', 'baseline', 0.9),
        modelDoc(`${OTHER_TYPE}:v9`, 'baseline', 0),
      );
      writeFiles(work, 'clash', { 'clash.yaml': clash });
      // A threshold for a task the server-side type does not have is also caught only by the server.
      const tasks = docs(
        teamDoc('cac-tasks'),
        typeDoc('ig_cactasks_main_dnn', 'cac-tasks'),
        modelDoc(`${OTHER_TYPE}:v10`, 'experiment', 0.05, 'thresholds:\n  PFOLLOW:\n    calibration: {min: 0.9, max: 1.1}\n    neMax: 0.9\n'),
      );
      writeFiles(work, 'tasks', { 'tasks.yaml': tasks });

      const seqBefore = (await server.call('GET', '/changes?limit=1000')).body.lastSeq;
      const [valid, validTasks, plan, apply, refused] = await Promise.all([
        run('validate', 'clash'),
        run('validate', 'tasks'),
        run('plan', 'clash'),
        run('apply', 'clash'),
        run('apply', 'tasks'),
      ]);
      assert.equal(valid.code, 0, show(valid));
      assert.equal(validTasks.code, 0, show(validTasks));
      for (const result of [plan, apply]) {
        assert.equal(result.code, 1, show(result));
        assert.match(result.stderr, new RegExp(`model type '${OTHER_TYPE}' would have 2 baseline models \\(${OTHER_TYPE}:v1, ${OTHER_TYPE}:v9\\)`));
        assert.match(result.stderr, /the server refused the configuration \(conflict\); nothing was changed/);
      }
      // All or nothing: the valid new entries of the same directory were not created either.
      assert.equal(await status('/teams/cac-clash'), 404);
      assert.equal(await status('/model-types/ig_cacclash_main_dnn'), 404);
      assert.equal(await status('/models/ig_cacclash_main_dnn:v1'), 404);
      assert.equal(await status(`/models/${OTHER_TYPE}:v9`), 404);
      assert.equal((await server.call('GET', `/model-types/${OTHER_TYPE}`)).body.baselineModelId, `${OTHER_TYPE}:v1`);
      assert.equal((await server.call('GET', `/changes?after=${seqBefore}`)).body.items.length, 0);
      assert.equal((await server.call('GET', '/teams/cac-clash/history')).status, 404, 'no history: it never existed');

      assert.equal(refused.code, 1, show(refused));
      assert.match(refused.stderr, new RegExp(`task 'PFOLLOW' is not a task of model type '${OTHER_TYPE}'`));
      // The server's cross-entry problem points at the file and line that declared the model.
      assert.match(refused.stderr, new RegExp(`tasks/tasks\\.yaml:\\d+ models\\.${OTHER_TYPE}:v10\\.thresholds\\.PFOLLOW: `));
      assert.equal(await status('/teams/cac-tasks'), 404);
      assert.equal(await status('/model-types/ig_cactasks_main_dnn'), 404);
      assert.equal(await status(`/models/${OTHER_TYPE}:v10`), 404);
    });

    test('--prune deletes what the directory no longer declares for its teams; without it they stay', async () => {
      // Drop v3 and the whole people file.
      writeFiles(work, 'app', { 'search.yaml': searchFile(0.15, 'Ranks search results by query', false) });
      for (const result of await Promise.all([run('plan', 'app'), run('apply', 'app')])) {
        assert.equal(result.code, 0, show(result));
        assert.match(result.stdout, /No changes\./, `without --prune undeclared entries stay: ${show(result)}`);
      }
      assert.equal(await status(`/models/${SEARCH_TYPE}:v3`), 200);
      assert.equal(await status(`/model-types/${PEOPLE_TYPE}`), 200);

      const plan = await run('plan', '--prune', 'app');
      assert.equal(plan.code, 0, show(plan));
      const deletes = plan.stdout.split('\n').filter((l) => l.startsWith('  - '));
      // Models before the types that hold them.
      assert.deepEqual(deletes, [`  - model ${PEOPLE_TYPE}:v1`, `  - model ${SEARCH_TYPE}:v3`, `  - model_type ${PEOPLE_TYPE}`]);
      assert.match(plan.stdout, /^Plan: 0 to create, 0 to change, 3 to delete\.$/m);
      assert.equal(await status(`/models/${SEARCH_TYPE}:v3`), 200, 'plan deleted nothing');

      const applied = await run('apply', '--prune', 'app');
      assert.equal(applied.code, 0, show(applied));
      assert.match(applied.stdout, /^Applied: 0 create, 0 change, 3 delete\.$/m);
      assert.equal(await status(`/models/${SEARCH_TYPE}:v3`), 404);
      assert.equal(await status(`/models/${PEOPLE_TYPE}:v1`), 404);
      assert.equal(await status(`/model-types/${PEOPLE_TYPE}`), 404);
      // Declared entries and other teams' entries are untouched.
      assert.equal(await status(`/models/${SEARCH_TYPE}:v1`), 200);
      assert.equal(await status(`/models/${SEARCH_TYPE}:v2`), 200);
      assert.equal(await status(`/models/${OTHER_TYPE}:v2`), 200);
      assert.equal(await status('/teams/cac-other'), 200);
      const clean = await run('plan', '--prune', '--detailed-exitcode', 'app');
      assert.equal(clean.code, 0, show(clean));
    });

    test('models list --json and types get --json print the API JSON', async () => {
      const [list, limited, type, table] = await Promise.all([
        run('models', 'list', '--model-type', OTHER_TYPE, '--json'),
        run('models', 'list', '--role', 'baseline', '--limit', '1', '--json'),
        run('types', 'get', OTHER_TYPE, '--json'),
        run('types', 'list', '--owner-team', 'cac-other'),
      ]);
      assert.equal(list.code, 0, show(list));
      const printed = JSON.parse(list.stdout) as Array<{ id: string; version: number }>;
      const api = await server.call('GET', `/models?modelType=${OTHER_TYPE}`);
      assert.deepEqual(printed, api.body.items);
      assert.deepEqual(printed.map((m) => m.id), [`${OTHER_TYPE}:v1`, `${OTHER_TYPE}:v2`, `${OTHER_TYPE}:v3`]);

      assert.equal(limited.code, 0, show(limited));
      assert.equal(JSON.parse(limited.stdout).length, 1);

      assert.equal(type.code, 0, show(type));
      assert.deepEqual(JSON.parse(type.stdout), (await server.call('GET', `/model-types/${OTHER_TYPE}`)).body);

      assert.equal(table.code, 0, show(table));
      assert.match(table.stdout, /^NAME\s+CRITICALITY\s+FUNNELSTAGE\s+OWNERTEAM\s+BASELINEMODELID\s+VERSION$/m);
      assert.match(table.stdout, new RegExp(`^${OTHER_TYPE}\\s+TIER3\\s+late_stage_ranking\\s+cac-other\\s+${OTHER_TYPE}:v1\\s+1$`, 'm'));
    });

    test('models update -f bumps the version, delete removes, history prints a table', async () => {
      const id = `${OTHER_TYPE}:v3`;
      writeFileSync(join(work, 'patch.yaml'), 'trafficShare: 0.05\ntags:\n  - cli-patched\n');
      const updated = await run('models', 'update', id, '-f', 'patch.yaml', '--reason', 'ramp up');
      assert.equal(updated.code, 0, show(updated));
      assert.equal(updated.stdout, `updated model ${id} to version 2\n`);
      const read = await server.call('GET', `/models/${id}`);
      assert.equal(read.body.version, 2);
      assert.equal(read.body.trafficShare, 0.05);
      assert.deepEqual(read.body.tags, ['cli-patched']);
      assert.equal(read.body.role, 'candidate', 'a merge patch keeps the fields it does not name');

      // A stale --if-match is the server's 412, reported with its message.
      const stale = await run('models', 'update', id, '-f', 'patch.yaml', '--if-match', '1');
      assert.equal(stale.code, 1, show(stale));
      assert.match(stale.stderr, /^modelfleet: .*version 2.*/m);

      const deleted = await run('models', 'delete', id, '--reason', 'abandoned');
      assert.equal(deleted.code, 0, show(deleted));
      assert.equal(deleted.stdout, `deleted model ${id}\n`);
      assert.equal(await status(`/models/${id}`), 404);

      const [history, json] = await Promise.all([run('models', 'history', id), run('models', 'history', id, '--json')]);
      assert.equal(history.code, 0, show(history));
      const rows = history.stdout.trimEnd().split('\n');
      assert.match(rows[0]!, /^SEQ\s+VERSION\s+ACTION\s+ACTOR\s+AT\s+REASON\s+CHANGED$/);
      assert.equal(rows.length, 4, show(history));
      assert.match(rows[1]!, /^\d+\s+1\s+create\s+admin\s+\S+\s+-\s+/);
      assert.match(rows[2]!, /^\d+\s+2\s+update\s+admin\s+\S+\s+ramp up\s+(trafficShare,tags|tags,trafficShare)$/);
      assert.match(rows[3]!, /^\d+\s+3\s+delete\s+admin\s+\S+\s+abandoned\s*/);
      assert.deepEqual(JSON.parse(json.stdout), (await server.call('GET', `/models/${encodeURIComponent(id)}/history`)).body.items);
    });

    test('an API error exits 1 with the server message on stderr', async () => {
      const [missing, unauthorized] = await Promise.all([
        run('models', 'get', `${OTHER_TYPE}:v404`),
        cli(server, work, ['types', 'get', OTHER_TYPE, '--token', 'not-a-real-token']),
      ]);
      assert.equal(missing.code, 1, show(missing));
      assert.equal(missing.stdout, '');
      assert.match(missing.stderr, new RegExp(`^modelfleet: model '${OTHER_TYPE}:v404' does not exist$`, 'm'));

      assert.equal(unauthorized.code, 1, show(unauthorized));
      assert.match(unauthorized.stderr, /pass --token or set MODELFLEET_TOKEN/);
    });
  });

  describe(`export of a generated fleet plans clean on ${db.name}`, () => {
    let server: TestServer;
    let work: string;
    const fleet = generateFleet({ models: 300, seed: 3 });
    const run = (...args: string[]) => cli(server, work, args);

    before(async () => {
      server = await TestServer.start(db);
      work = mkdtempSync(join(tmpdir(), 'modelfleet-export-'));
      await seedFleet(server.fleet.registry, systemActor, fleet);
    });
    after(async () => {
      await server.close();
      rmSync(work, { recursive: true, force: true });
    });

    test('export DIR then validate and plan DIR: valid, and No changes', async () => {
      const exported = await run('export', 'fleet');
      assert.equal(exported.code, 0, show(exported));
      assert.equal(exported.stdout, `Exported ${fleet.teams.length} team(s), ${fleet.modelTypes.length} model type(s), 300 model(s) to fleet.\n`);
      const files = readdirSync(join(work, 'fleet')).sort();
      assert.deepEqual(files, fleet.teams.map((t) => `${t.name}.yaml`).sort());

      // Every generated entry is in the files exactly once, in the file of its team.
      const ids = new Map<string, string>();
      for (const file of files) {
        for (const doc of parseAllDocuments(readFileSync(join(work, 'fleet', file), 'utf8'))) {
          const js = doc.toJS() as { kind: string; name?: string; id?: string; ownerTeam?: string };
          const key = `${js.kind} ${js.name ?? js.id}`;
          assert.ok(!ids.has(key), `${key} exported twice`);
          ids.set(key, file);
          if (js.kind === 'ModelType') assert.equal(file, `${js.ownerTeam}.yaml`);
        }
      }
      assert.equal(ids.size, fleet.teams.length + fleet.modelTypes.length + fleet.models.length);
      for (const model of fleet.models) assert.ok(ids.has(`Model ${model.id}`), model.id);

      const [valid, plan, pruned] = await Promise.all([
        run('validate', 'fleet'),
        run('plan', '--detailed-exitcode', 'fleet'),
        run('plan', '--prune', '--detailed-exitcode', 'fleet'),
      ]);
      assert.equal(valid.code, 0, show(valid));
      assert.equal(plan.code, 0, show(plan));
      assert.equal(plan.stdout, 'No changes. The registry matches the configuration.\n');
      assert.equal(pruned.code, 0, `an export declares everything, so prune has nothing to delete: ${show(pruned)}`);
    });

    test('export --team writes one file, and an edit to it plans as one change', async () => {
      const exported = await run('export', 'tagging', '--team', 'tagging');
      assert.equal(exported.code, 0, show(exported));
      assert.deepEqual(readdirSync(join(work, 'tagging')), ['tagging.yaml']);
      const file = join(work, 'tagging', 'tagging.yaml');
      const text = readFileSync(file, 'utf8');
      const type = fleet.modelTypes.find((t) => t.ownerTeam === 'tagging')!;
      assert.ok(text.includes(`name: ${type.name}\n`));
      writeFileSync(file, text.replace(`description: ${type.description}`, 'description: Edited in the exported file'));
      const plan = await run('plan', '--detailed-exitcode', '--prune', 'tagging');
      assert.equal(plan.code, 2, show(plan));
      assert.match(plan.stdout, new RegExp(`^  ~ model_type ${type.name}  \\(tagging/tagging\\.yaml:\\d+\\)$`, 'm'));
      assert.match(plan.stdout, /^ {6}\/description: ".*" -> "Edited in the exported file"$/m);
      assert.match(plan.stdout, /^Plan: 0 to create, 1 to change, 0 to delete\.$/m);
    });
  });
});
