import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConfigProblem } from './configDocuments.js';
import { formatProblem, parseConfigFiles, renderConfigDocuments, validateConfigDocuments } from './configDocuments.js';
import { defaultRegistrySettings } from './settings.js';

const settings = defaultRegistrySettings;

/** Lines are numbered in the comments so the expected line numbers below can be checked by eye. */
const fleetYaml = [
  'kind: Team', //                                 1
  'name: feed-ranking', //                         2
  'description: Ranks the main feed', //           3
  '---', //                                        4
  'kind: ModelType', //                            5
  'name: ig_feed_main_mtml', //                    6
  'description: Ranks posts in the main feed', //  7
  'funnelStage: late_stage_ranking', //            8
  'ownerTeam: feed-ranking', //                    9
  'oncall:', //                                   10
  '  rotation: feed-oncall', //                   11
  '  coverage: business_hours', //                12
  'criticality: TIER2', //                        13
  'tasks:', //                                    14
  '  - name: PLIKE', //                           15
  '  - name: PCOMMENT', //                        16
  '    description: will comment', //            17
  '---', //                                       18
  'kind: Model', //                               19
  'id: ig_feed_main_mtml:v1', //                  20
  'role: baseline', //                            21
  'trafficShare: 0.9', //                         22
  'thresholds:', //                               23
  '  PLIKE:', //                                  24
  '    calibration: { min: 0.9, max: 1.1 }', //   25
  '    neMax: 0.95', //                           26
  '',
].join('\n');

function parseOne(text: string, path = 'fleet.yaml') {
  return parseConfigFiles([{ path, text }]);
}

function validate(text: string, path = 'fleet.yaml'): ConfigProblem[] {
  const { documents, problems } = parseOne(text, path);
  assert.deepEqual(problems, []);
  return validateConfigDocuments(documents, settings);
}

describe('parseConfigFiles', () => {
  it('reads a valid multi-document file with all three kinds', () => {
    const { documents, problems } = parseOne(fleetYaml);
    assert.deepEqual(problems, []);
    assert.deepEqual(
      documents.map((d) => [d.kind, d.key, d.file, d.line]),
      [
        ['team', 'feed-ranking', 'fleet.yaml', 1],
        ['modelType', 'ig_feed_main_mtml', 'fleet.yaml', 5],
        ['model', 'ig_feed_main_mtml:v1', 'fleet.yaml', 19],
      ],
    );
    assert.deepEqual(documents[0]!.input, { name: 'feed-ranking', description: 'Ranks the main feed' });
    assert.equal('kind' in documents[1]!.input, false);
    assert.deepEqual(validateConfigDocuments(documents, settings), []);
  });

  it('locates field paths, falling back to the nearest existing ancestor', () => {
    const { documents } = parseOne(fleetYaml);
    const [, type, model] = documents;
    assert.equal(type!.locate('tasks[1].description'), 17);
    assert.equal(type!.locate('tasks[1]'), 16);
    assert.equal(type!.locate('oncall.coverage'), 12);
    assert.equal(type!.locate('oncall.nothing'), 10);
    assert.equal(type!.locate('tasks[7].name'), 14);
    assert.equal(type!.locate('(root)'), 5);
    assert.equal(model!.locate('thresholds.PLIKE.neMax'), 26);
    assert.equal(model!.locate('thresholds.PLIKE.calibration.max'), 25);
    assert.equal(model!.locate('missing.deeply'), 19);
  });

  it('skips empty documents', () => {
    const { documents, problems } = parseOne('---\n# only a comment\n---\nkind: Team\nname: a\n---\n');
    assert.deepEqual(problems, []);
    assert.deepEqual(documents.map((d) => [d.key, d.line]), [['a', 4]]);
  });

  it('reports a YAML syntax error at its line and keeps the other documents', () => {
    const { documents, problems } = parseOne('kind: Team\nname: a\n---\nkind: Team\nname: b: c\n');
    assert.deepEqual(documents.map((d) => d.key), ['a']);
    assert.equal(problems.length, 1);
    assert.equal(problems[0]!.line, 5);
    assert.equal(problems[0]!.path, '(yaml)');
    assert.match(problems[0]!.message, /^YAML syntax error: /);
    assert.match(formatProblem(problems[0]!), /^fleet\.yaml:5: \(yaml\): YAML syntax error/);
  });

  it('reports an unclosed quote at the line where it opens, not at the end of the file', () => {
    const { documents, problems } = parseOne('kind: Team\nname: a\ndescription: "unclosed\noncallRotation: x\n---\nkind: Team\nname: b\n\n');
    assert.equal(documents.length, 0);
    assert.deepEqual(problems.map((p) => [p.line, p.path]), [[3, '(yaml)']]);
    assert.match(problems[0]!.message, /Missing closing "quote.*runs to the end of the file/);
  });

  it('reports a field written twice in one document as a YAML error at the second one', () => {
    const { problems } = parseOne('kind: Team\nname: a\nname: b\n');
    assert.equal(problems.length, 1);
    assert.equal(problems[0]!.line, 3);
    assert.match(problems[0]!.message, /keep one/);
  });

  it('reports a document without kind', () => {
    const { documents, problems } = parseOne('kind: Team\nname: a\n---\n\nname: b\ndescription: x\n');
    assert.equal(documents.length, 1);
    assert.deepEqual(
      problems.map((p) => [p.line, p.path]),
      [[5, 'kind']],
    );
    assert.match(problems[0]!.message, /kind must be one of Team, ModelType, Model/);
    assert.match(problems[0]!.message, /add e\.g\. 'kind: ModelType'/);
  });

  it('reports an unknown kind at its line, with a suggestion for a wrong case', () => {
    const { problems } = parseOne('name: a\nkind: modeltype\n');
    assert.equal(problems[0]!.line, 2);
    assert.match(problems[0]!.message, /kind must be one of Team, ModelType, Model, not 'modeltype': did you mean 'ModelType'\?/);
  });

  it('reports a document that is not a mapping', () => {
    const { documents, problems } = parseOne('kind: Team\nname: a\n---\n- kind: Team\n  name: b\n');
    assert.equal(documents.length, 1);
    assert.equal(problems[0]!.line, 4);
    assert.match(problems[0]!.message, /must be a mapping/);
  });
});

describe('validateConfigDocuments', () => {
  it('reports an unknown field at the line of that field, with a spelling suggestion', () => {
    const text = fleetYaml.replace('  - name: PCOMMENT\n    description: will comment', '  - name: PCOMMENT\n    descripton: will comment');
    const problems = validate(text);
    assert.equal(problems.length, 1);
    const [problem] = problems;
    assert.equal(problem!.line, 17);
    assert.equal(problem!.path, 'tasks[1].descripton');
    assert.match(problem!.message, /unknown field 'descripton' \(did you mean 'description'\?\)/);
  });

  it('reports each of several unknown top-level fields at its own line', () => {
    const problems = validate('kind: Team\nname: a\ncolour: red\noncallRotaton: x\n');
    assert.deepEqual(
      problems.map((p) => [p.line, p.path]),
      [
        [3, 'colour'],
        [4, 'oncallRotaton'],
      ],
    );
    assert.match(problems[1]!.message, /did you mean 'oncallRotation'\?/);
  });

  it('reports a wrong type at a nested path at the nested line', () => {
    const problems = validate(fleetYaml.replace('  - name: PCOMMENT', '  - name: 42'));
    assert.equal(problems.length, 1);
    assert.equal(problems[0]!.path, 'tasks[1].name');
    assert.equal(problems[0]!.line, 16);
    assert.equal(problems[0]!.file, 'fleet.yaml');
  });

  it('reports a missing required field as missing', () => {
    const problems = validate(fleetYaml.replace('  coverage: business_hours\n', '').replace('role: baseline\n', ''));
    assert.deepEqual(
      problems.map((p) => [p.line, p.path]),
      [
        [10, 'oncall.coverage'],
        [18, 'role'],
      ],
    );
    assert.match(problems[0]!.message, /^missing required field 'coverage': add it \(expected one of "24x7"\|"business_hours"\)$/);
  });

  it('reports a bad model type name at the name line, and the model whose id uses it', () => {
    const problems = validate(fleetYaml.replaceAll('ig_feed_main_mtml', 'ig_feed_main_mtmll'));
    assert.deepEqual(
      problems.map((p) => [p.line, p.path]),
      [
        [6, 'name'],
        [20, 'id'],
      ],
    );
    assert.match(problems[0]!.message, /unknown architecture 'mtmll'.*did you mean 'mtml'\?/);
  });

  it('reports a malformed model id', () => {
    const problems = validate('kind: Model\nid: not-a-model-id\nrole: candidate\n');
    assert.deepEqual(problems.map((p) => [p.line, p.path]), [[2, 'id']]);
    assert.match(problems[0]!.message, /use <modelType>:<version>/);
  });

  it('reports the same entry declared in two files, naming both places', () => {
    const { documents, problems } = parseConfigFiles([
      { path: 'teams/a.yaml', text: 'kind: Team\nname: feed-ranking\n' },
      { path: 'teams/b.yaml', text: '# moved here\nkind: Team\ndescription: again\nname: feed-ranking\n' },
    ]);
    assert.deepEqual(problems, []);
    const found = validateConfigDocuments(documents, settings);
    assert.equal(found.length, 1);
    assert.deepEqual([found[0]!.file, found[0]!.line, found[0]!.path], ['teams/b.yaml', 4, 'name']);
    assert.match(found[0]!.message, /team 'feed-ranking' is declared twice, at teams\/a\.yaml:2 and at teams\/b\.yaml:4/);
  });

  it('does not complain about a model whose model type is not in the files', () => {
    assert.deepEqual(validate('kind: Model\nid: ig_reels_main_dlrm:v3\nrole: experiment\ntrafficShare: 0.1\n'), []);
  });

  it('reports two baselines of one model type across files', () => {
    const { documents } = parseConfigFiles([
      { path: 'a.yaml', text: 'kind: Model\nid: ig_reels_main_dlrm:v1\nrole: baseline\n' },
      { path: 'b.yaml', text: 'kind: Model\nid: ig_reels_main_dlrm:v2\nrole: baseline\n' },
    ]);
    const problems = validateConfigDocuments(documents, settings);
    assert.deepEqual(problems.map((p) => [p.file, p.line, p.path]), [['b.yaml', 3, 'role']]);
    assert.match(problems[0]!.message, /2 baseline models .*ig_reels_main_dlrm:v1 at a\.yaml:3, ig_reels_main_dlrm:v2 at b\.yaml:3/);
  });

  it('reports live traffic shares above 1 for one model type, ignoring retired models', () => {
    const problems = validate(
      [
        'kind: Model\nid: ig_reels_main_dlrm:v1\nrole: baseline\ntrafficShare: 0.7',
        'kind: Model\nid: ig_reels_main_dlrm:v0\nrole: retired',
        'kind: Model\nid: ig_reels_main_dlrm:v2\nrole: experiment\ntrafficShare: 0.4',
        'kind: Model\nid: ig_other_main_dlrm:v2\nrole: experiment\ntrafficShare: 0.9',
      ].join('\n---\n'),
    );
    assert.deepEqual(problems.map((p) => [p.line, p.path]), [[13, 'trafficShare']]);
    assert.match(problems[0]!.message, /sum to 1\.1, more than 1 \(ig_reels_main_dlrm:v1=0\.7 at fleet\.yaml:4, ig_reels_main_dlrm:v2=0\.4 at fleet\.yaml:13\)/);
  });

  it('reports thresholds for tasks the declared model type does not have', () => {
    const text = `${fleetYaml}  PFOLLOW:\n    calibration: { min: 0.9, max: 1.1 }\n    neMax: 0.95\n`;
    const problems = validate(text);
    assert.deepEqual(problems.map((p) => [p.line, p.path]), [[27, 'thresholds.PFOLLOW']]);
    assert.match(problems[0]!.message, /task 'PFOLLOW' is not a task of model type 'ig_feed_main_mtml' \(declared at fleet\.yaml:14; its tasks: PLIKE, PCOMMENT\)/);
  });
});

describe('renderConfigDocuments', () => {
  it('renders kind first and fields in schema order, and parses back to the same inputs', () => {
    const entries = [
      { kind: 'team' as const, input: { description: 'Ranks the feed', name: 'feed-ranking', oncallRotation: null } },
      {
        kind: 'modelType' as const,
        input: {
          tasks: [{ name: 'PLIKE' }, { name: 'PCOMMENT', description: 'will comment:\nsecond line' }],
          name: 'ig_feed_main_mtml',
          description: 'Ranks posts in the main feed, a long sentence that should not be folded by the renderer at all',
          funnelStage: 'late_stage_ranking',
          ownerTeam: 'feed-ranking',
          oncall: { rotation: 'feed-oncall', coverage: '24x7' },
          criticality: 'TIER1',
          criticalityJustification: { businessMetrics: ['time spent'], rationale: 'main surface' },
          extended: { 'cost.center': 'yes', nested: { n: 1.5, flag: true } },
          tags: ['feed', 'ig'],
        },
      },
      {
        kind: 'model' as const,
        input: {
          role: 'baseline',
          id: 'ig_feed_main_mtml:v1',
          trafficShare: 1,
          thresholds: { PLIKE: { calibration: { min: 0.9, max: 1.1 }, neMax: 0.95 } },
          capacity: { maxQpsPerReplica: 120, replicas: 4, unitCost: 0.5 },
        },
      },
    ];
    const text = renderConfigDocuments(entries);
    const firstLines = text.split('\n').filter((line, i, all) => i === 0 || all[i - 1] === '---');
    assert.deepEqual(firstLines, ['kind: Team', 'kind: ModelType', 'kind: Model']);
    const typeDoc = text.split('---\n')[1]!;
    const topLevel = typeDoc.split('\n').filter((l) => /^[a-zA-Z]/.test(l)).map((l) => l.split(':')[0]);
    assert.deepEqual(topLevel, ['kind', 'name', 'description', 'funnelStage', 'ownerTeam', 'oncall', 'criticality', 'criticalityJustification', 'tasks', 'extended', 'tags']);

    const { documents, problems } = parseOne(text, 'rendered.yaml');
    assert.deepEqual(problems, []);
    assert.deepEqual(
      documents.map((d) => ({ kind: d.kind, input: d.input })),
      entries,
    );
    assert.deepEqual(validateConfigDocuments(documents, settings), []);
  });
});
