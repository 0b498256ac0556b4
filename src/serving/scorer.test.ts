import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DomainError } from '../core/errors.js';
import { createRng } from '../sim/random.js';
import { featureHash, fnv1a } from './featureHash.js';
import { encodeArtifact, generateArtifact, parseArtifact, type ModelArtifact } from './modelArtifact.js';
import { flopsPerCandidate, numericBucket, parsePredictRequest, PREDICT_LIMITS, Scorer, type PredictRequest } from './scorer.js';

const MODEL = 'ig_feed_mtml:v3';
const small = generateArtifact({ model: MODEL, size: 'small' });

/** A request like a feed ranker's: a user with a few features and candidates with five each. */
function feedRequest(candidates: number, seed = 1): PredictRequest {
  const rng = createRng(seed);
  return parsePredictRequest({
    user: { id: 'u1', features: { country: 'us', age_bucket: '25-34', follows: 812, interests: ['cats', 'travel', 'food'], is_new: false } },
    candidates: Array.from({ length: candidates }, (_, i) => ({
      id: `c${i}`,
      features: { author: `a${rng.int(0, 10_000)}`, media: rng.pick(['photo', 'video', 'reel']), likes: rng.int(0, 100_000), age_hours: rng.float(0, 48), hashtags: [`h${rng.int(0, 500)}`, `h${rng.int(0, 500)}`] },
    })),
  });
}

/** The user's bag and first layer: what a request costs before its first candidate. */
const perRequest = (a: ModelArtifact, userTerms: number) => userTerms * a.embeddingDim + 2 * (a.layers[0]?.out ?? a.heads.out) * a.embeddingDim;

describe('Scorer', () => {
  it('scores every candidate for every task, in order, with probabilities strictly between 0 and 1', () => {
    const result = new Scorer(small).score(feedRequest(50));
    assert.equal(result.model, MODEL);
    assert.deepEqual(
      result.scores.map((s) => s.id),
      Array.from({ length: 50 }, (_, i) => `c${i}`),
    );
    for (const score of result.scores) {
      assert.deepEqual(Object.keys(score), ['id', 'PLIKE', 'PCOMMENT', 'PFOLLOW']);
      for (const task of small.tasks) {
        const p = score[task] as number;
        assert.ok(p > 0 && p < 1, `${score.id} ${task} = ${p}`);
      }
    }
  });

  it('is deterministic: the same artifact (generated again, or read back from its JSON) gives the same scores', () => {
    const request = feedRequest(20);
    const first = new Scorer(small).score(request).scores;
    assert.deepEqual(new Scorer(generateArtifact({ model: MODEL, size: 'small' })).score(request).scores, first);
    assert.deepEqual(new Scorer(parseArtifact(JSON.parse(JSON.stringify(encodeArtifact(small))))).score(request).scores, first);
    const scorer = new Scorer(small);
    scorer.score(feedRequest(7, 99));
    assert.deepEqual(scorer.score(request).scores, first, 'buffers reused across requests leave nothing behind');
  });

  it('gives different candidates different scores, and the same features the same scores whatever the id', () => {
    const { scores } = new Scorer(small).score(feedRequest(100));
    for (const task of small.tasks) assert.ok(new Set(scores.map((s) => s[task])).size > 90, `${task} varies across candidates`);
    const twins = new Scorer(small).score(parsePredictRequest({ user: { id: 'u' }, candidates: [{ id: 'x', features: { media: 'reel' } }, { id: 'y', features: { media: 'reel' } }] })).scores;
    assert.equal(twins[0]!['PLIKE'], twins[1]!['PLIKE']);
  });

  it("scores a candidate the same wherever it sits in the request and whoever its neighbours are", () => {
    const batch = feedRequest(13);
    const scorer = new Scorer(small);
    const together = scorer.score(batch).scores;
    for (const i of [0, 3, 8, 9, 12]) {
      const alone = scorer.score({ user: batch.user, candidates: [batch.candidates[i]!] }).scores[0];
      assert.deepEqual(alone, together[i], `candidate ${i}`);
    }
  });

  it("depends on the user: another user's features change the scores", () => {
    const request = feedRequest(10);
    const other = { ...request, user: { id: 'u2', features: { country: 'br', age_bucket: '18-24' } } };
    const scorer = new Scorer(small);
    assert.notDeepEqual(scorer.score(other).scores, scorer.score(request).scores);
  });

  it('runs an artifact without hidden layers (logistic heads on the interaction features)', () => {
    const logistic = generateArtifact({ model: 'm:logistic', size: 'small', hidden: [] });
    const { scores, multiplyAdds } = new Scorer(logistic).score(feedRequest(5));
    assert.equal(scores.length, 5);
    assert.ok(scores.every((s) => logistic.tasks.every((t) => (s[t] as number) > 0 && (s[t] as number) < 1)));
    assert.equal(flopsPerCandidate(logistic), logistic.embeddingDim * logistic.tasks.length);
    assert.equal(multiplyAdds, perRequest(logistic, 7) + 5 * flopsPerCandidate(logistic, 6));
  });
});

describe('cost', () => {
  it('flopsPerCandidate counts the candidate part of the first layer, the other layers and the heads', () => {
    const medium = generateArtifact({ model: MODEL, size: 'medium' });
    // embeddingDim 32, hidden [256, 128], 3 tasks
    assert.equal(flopsPerCandidate(medium), 32 * 256 + 256 * 128 + 128 * 3);
    assert.equal(flopsPerCandidate(medium, 6), 32 * 256 + 256 * 128 + 128 * 3 + 6 * 32);
    const wider = generateArtifact({ model: MODEL, featureDim: 4096, embeddingDim: 32, hidden: [512, 256] });
    assert.equal(flopsPerCandidate(wider), 32 * 512 + 512 * 256 + 256 * 3, 'twice the units: about four times the middle layer');
  });

  it('grows linearly with candidates: each one costs exactly flopsPerCandidate plus its embedding rows', () => {
    const scorer = new Scorer(small);
    // The user has 7 terms (3 interests); each candidate 6 (2 hashtags).
    const costs = [1, 10, 100, 1000].map((n) => scorer.score(feedRequest(n)).multiplyAdds);
    const each = flopsPerCandidate(small, 6);
    assert.deepEqual(costs, [1, 10, 100, 1000].map((n) => perRequest(small, 7) + n * each));
  });

  it('grows with the model: a larger artifact costs more per candidate', () => {
    const sizes = (['small', 'medium', 'large'] as const).map((size) => flopsPerCandidate(generateArtifact({ model: MODEL, size, featureDim: 64 })));
    assert.ok(sizes[0]! < sizes[1]! && sizes[1]! < sizes[2]!, sizes.join(' < '));
  });
});

describe('features', () => {
  it('hashes with FNV-1a 32-bit over UTF-8, as any byte-oriented implementation does', () => {
    const reference = (text: string) => {
      let h = 0x811c9dc5;
      for (const byte of Buffer.from(text, 'utf8')) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
      return h;
    };
    assert.equal(fnv1a(''), 0x811c9dc5);
    assert.equal(fnv1a('a'), 0xe40c292c);
    assert.equal(fnv1a('foobar'), 0xbf9cf968);
    for (const text of ['country=us', 'é', 'город=Москва', '😀 emoji', 'x\ud800y']) assert.equal(fnv1a(text), reference(text), text);
    assert.equal(featureHash('country', 'us'), fnv1a('country=us'));
    assert.equal(featureHash('country'), fnv1a('country'));
  });

  it('puts numbers into half-octave buckets', () => {
    assert.deepEqual([0, 0.4, 1, 40, 1e6, -3].map(numericBucket), ['#0', '#0', '#2', '#10', '#39', '#-4']);
    const scorer = new Scorer(small);
    const score = (likes: number) => scorer.score(parsePredictRequest({ user: { id: 'u' }, candidates: [{ id: 'c', features: { likes } }] })).scores[0]!['PLIKE'];
    assert.equal(score(41), score(42), 'same bucket');
    assert.notEqual(score(41), score(4100));
  });

  it('skips null features, as if absent', () => {
    const scorer = new Scorer(small);
    const score = (features: Record<string, unknown>) => scorer.score(parsePredictRequest({ user: { id: 'u' }, candidates: [{ id: 'c', features }] })).scores[0];
    assert.deepEqual(score({ media: 'reel', author: null }), score({ media: 'reel' }));
  });
});

describe('parsePredictRequest', () => {
  const invalid = (body: unknown): DomainError => {
    try {
      parsePredictRequest(body);
    } catch (error) {
      assert.ok(error instanceof DomainError);
      assert.equal(error.code, 'invalid_input');
      return error;
    }
    assert.fail('expected invalid_input');
  };
  const paths = (body: unknown) => invalid(body).details.map((d) => d.path);

  it('names each bad field with its path', () => {
    assert.deepEqual(paths({ user: {}, candidates: [{ id: 'c' }] }), ['user.id']);
    assert.deepEqual(paths({ user: { id: 'u' }, candidates: [{ id: 'c' }, { id: 'd', features: { media: { kind: 'reel' } } }] }), ['candidates[1].features.media']);
    assert.deepEqual(paths({ user: { id: 'u' }, candidates: [{ id: 'c', features: { tags: [1, {}] } }] }), ['candidates[0].features.tags']);
    assert.deepEqual(paths({ user: { id: 'u' }, candidates: [{ id: 'c' }], context: {} }), ['context']);
    assert.deepEqual(paths([]), ['(root)']);
  });

  it('says what a feature value may be', () => {
    const error = invalid({ user: { id: 'u' }, candidates: [{ id: 'c', features: { media: { kind: 'reel' } } }] });
    assert.match(error.details[0]!.message, /a string, number, boolean, null, or a list of strings or numbers; not an object/);
  });

  it(`refuses an empty request and more than ${PREDICT_LIMITS.maxCandidates} candidates, saying how to fix it`, () => {
    assert.match(invalid({ user: { id: 'u' }, candidates: [] }).message, /candidates: at least one candidate/);
    const many = invalid({ user: { id: 'u' }, candidates: Array.from({ length: PREDICT_LIMITS.maxCandidates + 1 }, (_, i) => ({ id: `c${i}` })) });
    assert.deepEqual(many.details, [{ path: 'candidates', message: 'at most 2000 candidates per request: split the candidates over several requests' }]);
  });

  it('bounds features per entity, values per list and string lengths', () => {
    const features = Object.fromEntries(Array.from({ length: PREDICT_LIMITS.maxFeatures + 1 }, (_, i) => [`f${i}`, 1]));
    assert.match(invalid({ user: { id: 'u', features }, candidates: [{ id: 'c' }] }).message, /user\.features: at most 128 features/);
    assert.match(invalid({ user: { id: 'u' }, candidates: [{ id: 'c', features: { tags: Array(65).fill('t') } }] }).message, /at most 64 values in a list feature, not 65/);
    assert.deepEqual(paths({ user: { id: 'u' }, candidates: [{ id: 'c', features: { bio: 'x'.repeat(257) } }] }), ['candidates[0].features.bio']);
  });

  it('lists at most 20 problems, with how many more there were', () => {
    const error = invalid({ user: { id: 'u' }, candidates: Array.from({ length: 50 }, () => ({ id: 1 })) });
    assert.equal(error.details.length, 20);
    assert.match(error.message, /\(and 30 more\)$/);
  });
});
