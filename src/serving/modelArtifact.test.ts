import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DomainError } from '../core/errors.js';
import {
  ARTIFACT_SIZES,
  decodeFloats,
  encodeArtifact,
  encodeFloats,
  generateArtifact,
  loadArtifact,
  parameterCount,
  parseArtifact,
  saveArtifact,
  seedOfModel,
  type ArtifactDocument,
} from './modelArtifact.js';

const MODEL = 'ig_feed_mtml:v3';
const small = generateArtifact({ model: MODEL, size: 'small' });
/** A fresh copy of the small artifact's stored form, to break. */
const doc = (): ArtifactDocument => JSON.parse(JSON.stringify(encodeArtifact(small)));

function invalid(value: unknown): DomainError {
  try {
    parseArtifact(value, 'artifact feed.json');
  } catch (error) {
    assert.ok(error instanceof DomainError, String(error));
    assert.equal(error.code, 'invalid_input');
    assert.match(error.message, /^artifact feed\.json is not a valid model artifact: /);
    return error;
  }
  assert.fail('expected the artifact to be refused');
}

describe('generateArtifact', () => {
  it('is deterministic: the same options give the same bytes; the seed comes from the model id by default', () => {
    assert.deepEqual(encodeArtifact(generateArtifact({ model: MODEL, size: 'small' })), encodeArtifact(small));
    assert.equal(small.seed, seedOfModel(MODEL));
    assert.notDeepEqual(generateArtifact({ model: 'ig_feed_mtml:v4', size: 'small' }).embedding, small.embedding);
    assert.deepEqual(generateArtifact({ model: 'ig_feed_mtml:v4', size: 'small', seed: small.seed! }).embedding, small.embedding);
  });

  it('takes its dimensions from the size unless given, and tasks in the order named', () => {
    for (const size of ['small', 'medium', 'large'] as const) {
      const a = generateArtifact({ model: MODEL, size, featureDim: 256 });
      assert.deepEqual(a.hidden, ARTIFACT_SIZES[size].hidden);
      assert.equal(a.embeddingDim, ARTIFACT_SIZES[size].embeddingDim);
    }
    const custom = generateArtifact({ model: MODEL, tasks: ['PSHARE', 'PLIKE'], featureDim: 1000, embeddingDim: 8, hidden: [16] });
    assert.deepEqual(custom.tasks, ['PSHARE', 'PLIKE']);
    assert.equal(custom.embedding.length, 1000 * 8);
    assert.deepEqual([custom.layers[0]!.in, custom.layers[0]!.out, custom.heads.in, custom.heads.out], [24, 16, 16, 2]);
    assert.equal(parameterCount(custom), 1000 * 8 + (24 * 16 + 16) + 2 * (16 + 1));
  });

  it('refuses impossible dimensions with the field at fault', () => {
    assert.throws(() => generateArtifact({ model: MODEL, hidden: [0] }), (e: DomainError) => e.details.some((d) => d.path === 'hidden[0]'));
    assert.throws(() => generateArtifact({ model: MODEL, tasks: ['like'] }), (e: DomainError) => e.details.some((d) => d.path === 'tasks[0]' && /start with 'P'/.test(d.message)));
    assert.throws(() => generateArtifact({ model: MODEL, tasks: ['PLIKE', 'PLIKE'] }), /task names must be unique/);
    assert.throws(() => generateArtifact({ model: 'has space' }), /model: model ids have no spaces/);
  });
});

describe('artifact round trip', () => {
  it('reads back exactly what was written, weights bit for bit', () => {
    const back = parseArtifact(JSON.parse(JSON.stringify(encodeArtifact(small))));
    assert.deepEqual(back, small);
    assert.deepEqual(encodeArtifact(back), encodeArtifact(small));
  });

  it('encodes float32 as little-endian base64', () => {
    const values = new Float32Array([1, -2.5, 0.1, 3.4e38]);
    assert.equal(encodeFloats(new Float32Array([1])), Buffer.from([0, 0, 0x80, 0x3f]).toString('base64'));
    assert.deepEqual(decodeFloats(encodeFloats(values)), values);
    // A view into a larger buffer encodes only its own values.
    assert.deepEqual(decodeFloats(encodeFloats(values.subarray(1, 3))), values.subarray(1, 3));
  });

  describe('files', () => {
    let dir = '';
    before(async () => (dir = await mkdtemp(join(tmpdir(), 'modelfleet-artifact-test-'))));
    after(() => rm(dir, { recursive: true, force: true }));

    it('saves and loads a file', async () => {
      const file = join(dir, 'feed.json');
      await saveArtifact(file, small);
      assert.deepEqual(await loadArtifact(file), small);
      const stored = JSON.parse(await readFile(file, 'utf8'));
      assert.equal(stored.format, 'modelfleet-mlp');
      assert.equal(stored.version, 1);
    });

    it('says when the file is missing or not JSON', async () => {
      await assert.rejects(loadArtifact(join(dir, 'nope.json')), /artifact .*nope\.json does not exist: check the path, or write one with --write-artifact/);
      await writeFile(join(dir, 'bad.json'), '{"format": ');
      await assert.rejects(loadArtifact(join(dir, 'bad.json')), /artifact .*bad\.json is not valid JSON: /);
    });
  });
});

describe('artifact validation', () => {
  it('names the format and the version it reads', () => {
    const wrongFormat = { ...doc(), format: 'onnx' };
    assert.deepEqual(invalid(wrongFormat).details, [{ path: 'format', message: "format must be 'modelfleet-mlp'" }]);
    assert.match(invalid({ ...doc(), version: 2 }).details[0]!.message, /reads artifact version 1; convert the artifact or upgrade modelfleet/);
  });

  it('checks every weight array against its shape, naming the array and the expected size', () => {
    const broken = doc();
    broken.weights.layers[1]!.weight = encodeFloats(new Float32Array(1000));
    broken.weights.embedding = broken.weights.embedding.slice(0, 400);
    const { details } = invalid(broken);
    assert.deepEqual(details, [
      { path: 'weights.embedding', message: 'expected 4096 x 16 = 65536 float32 values, found 75' },
      { path: 'weights.layers[1].weight', message: 'expected 32 x 64 = 2048 float32 values, found 1000' },
    ]);
  });

  it('says when a weight array is not whole float32 values', () => {
    const broken = doc();
    broken.weights.layers[0]!.bias = Buffer.alloc(6).toString('base64');
    assert.deepEqual(invalid(broken).details, [{ path: 'weights.layers[0].bias', message: 'expected 64 float32 values, found 6 bytes (not whole float32 values)' }]);
  });

  it('wants one layer per hidden size, and one head per task and no other', () => {
    const fewer = doc();
    fewer.weights.layers.pop();
    assert.match(invalid(fewer).details[0]!.message, /expected 2 layers \(one per entry of hidden: \[64, 32\]\), found 1/);
    const heads = doc();
    heads.weights.heads['PSHARE'] = heads.weights.heads['PLIKE']!;
    delete heads.weights.heads['PFOLLOW'];
    assert.deepEqual(
      invalid(heads).details.map((d) => d.path),
      ['weights.heads.PFOLLOW', 'weights.heads.PSHARE'],
    );
  });

  it('refuses weights that are not finite', () => {
    const broken = doc();
    const values = decodeFloats(broken.weights.layers[0]!.bias);
    values[5] = NaN;
    broken.weights.layers[0]!.bias = encodeFloats(values);
    assert.deepEqual(invalid(broken).details, [{ path: 'weights.layers[0].bias', message: 'value 5 is NaN: weights must be finite (a diverged training run?)' }]);
  });

  it('refuses unknown fields and bad base64 with their paths', () => {
    const extra = { ...doc(), optimizer: 'adam' };
    assert.match(invalid(extra).details[0]!.message, /unknown field 'optimizer'/);
    const b64 = doc();
    b64.weights.embedding = 'not base64!';
    assert.deepEqual(invalid(b64).details.map((d) => d.path), ['weights.embedding']);
  });
});
