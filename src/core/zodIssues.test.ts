import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { DomainError } from './errors.js';
import { fieldsAt, isMissing, pathSegments } from './schemaFields.js';
import { formatPath, parseOrThrow, zodDetails } from './zodIssues.js';

const Schema = z.strictObject({
  name: z.string(),
  description: z.string().optional(),
  coverage: z.enum(['24x7', 'business_hours']),
  tasks: z.array(z.strictObject({ name: z.string(), description: z.string().optional() })).default([]),
  thresholds: z.record(z.string(), z.strictObject({ neMax: z.number() })).optional(),
});

const details = (input: unknown) => {
  const result = Schema.safeParse(input);
  assert.equal(result.success, false);
  return zodDetails(result.error!, { schema: Schema, input });
};

const valid = { name: 'a', coverage: '24x7' };

describe('zodDetails', () => {
  it('reports an unknown root field at its own path, with a suggestion and the allowed fields', () => {
    assert.deepEqual(details({ ...valid, descripton: 'x' }), [
      {
        path: 'descripton',
        message: "unknown field 'descripton' (did you mean 'description'?): remove it or fix the spelling; fields allowed here: name, description, coverage, tasks, thresholds",
      },
    ]);
  });

  it('reports each of several unknown fields separately, suggesting only near names', () => {
    const found = details({ ...valid, colour: 'red', nmae: 'b' });
    assert.deepEqual(
      found.map((d) => d.path),
      ['colour', 'nmae'],
    );
    assert.match(found[0]!.message, /^unknown field 'colour': remove it/);
    assert.match(found[1]!.message, /^unknown field 'nmae' \(did you mean 'name'\?\)/);
  });

  it('reports an unknown nested field at the path of the field, in arrays and records', () => {
    const found = details({ ...valid, tasks: [{ name: 'P' }, { name: 'Q', descripton: 'x' }], thresholds: { PLIKE: { neMax: 1, neMin: 0 } } });
    assert.deepEqual(found, [
      {
        path: 'tasks[1].descripton',
        message: "unknown field 'descripton' (did you mean 'description'?): remove it or fix the spelling; fields allowed here: name, description",
      },
      {
        path: 'thresholds.PLIKE.neMin',
        message: "unknown field 'neMin' (did you mean 'neMax'?): remove it or fix the spelling; fields allowed here: neMax",
      },
    ]);
  });

  it('without a schema, still reports each unknown field but cannot list the allowed ones', () => {
    const result = Schema.safeParse({ ...valid, extra: 1 });
    assert.deepEqual(zodDetails(result.error!), [{ path: 'extra', message: "unknown field 'extra': remove it or fix the spelling" }]);
  });

  it('reports a field absent from the input as missing, saying what it expects', () => {
    assert.deepEqual(details({ name: 'a' }), [
      { path: 'coverage', message: `missing required field 'coverage': add it (expected one of "24x7"|"business_hours")` },
    ]);
    assert.deepEqual(details({ ...valid, tasks: [{ description: 'x' }] }), [
      { path: 'tasks[0].name', message: "missing required field 'name': add it (expected string)" },
    ]);
  });

  it('keeps a plain type error as zod words it', () => {
    const found = details({ ...valid, name: 42 });
    assert.deepEqual(found, [{ path: 'name', message: 'Invalid input: expected string, received number' }]);
  });

  it('keeps the message of a refinement about an absent field', () => {
    const Refined = z.object({ role: z.string(), team: z.string().optional() }).superRefine((v, ctx) => {
      if (!v.team) ctx.addIssue({ code: 'custom', path: ['team'], message: 'a member token needs its team' });
    });
    const input = { role: 'member' };
    const result = Refined.safeParse(input);
    assert.deepEqual(zodDetails(result.error!, { schema: Refined, input }), [{ path: 'team', message: 'a member token needs its team' }]);
  });

  it('prefixes the paths it shows without reading schema or input at the prefix', () => {
    const input = { ...valid, extra: 1 };
    const result = Schema.safeParse(input);
    assert.deepEqual(
      zodDetails(result.error!, { schema: Schema, input, prefix: ['items', 2] }).map((d) => d.path),
      ['items[2].extra'],
    );
  });
});

describe('parseOrThrow', () => {
  it('throws invalid_input with the reworded details', () => {
    assert.throws(
      () => parseOrThrow(Schema, { coverage: '24x7', nmae: 'a' }, 'team'),
      (error: unknown) => {
        assert.ok(error instanceof DomainError);
        assert.equal(error.code, 'invalid_input');
        assert.deepEqual(
          error.details.map((d) => d.path),
          ['name', 'nmae'],
        );
        assert.match(error.details[0]!.message, /^missing required field 'name'/);
        assert.match(error.details[1]!.message, /did you mean 'name'/);
        assert.match(error.message, /^team is invalid: name: missing required field 'name'.*; nmae: unknown field 'nmae'/);
        return true;
      },
    );
  });
});

describe('schemaFields', () => {
  it('parses paths back into segments', () => {
    assert.deepEqual(pathSegments('tasks[1].name'), ['tasks', 1, 'name']);
    assert.deepEqual(pathSegments('(root)'), []);
    assert.equal(formatPath(pathSegments('thresholds.PLIKE.neMax')), 'thresholds.PLIKE.neMax');
  });

  it('reads the fields allowed at a path and whether a field is missing', () => {
    assert.deepEqual(fieldsAt(Schema, ['tasks', 0]), ['name', 'description']);
    assert.deepEqual(fieldsAt(Schema, ['thresholds', 'PLIKE']), ['neMax']);
    assert.deepEqual(fieldsAt(Schema, ['name']), []);
    assert.equal(isMissing({ tasks: [{}] }, ['tasks', 0, 'name']), true);
    assert.equal(isMissing({ tasks: [] }, ['tasks', 0, 'name']), false);
    assert.equal(isMissing({ name: undefined }, ['name']), false);
  });
});
