import { z } from 'zod';
import { invalidInput } from '../core/errors.js';
import { zodDetails } from '../core/zodIssues.js';
import { featureHash } from './featureHash.js';
import type { DenseLayer, ModelArtifact } from './modelArtifact.js';

/**
 * Inference for the model server: a predict request in, a score per task per candidate out. Pure and
 * synchronous; the HTTP edge times it and counts it.
 */

/** Bounds on one request, so a single caller cannot hold a worker for seconds or exhaust its memory. */
export const PREDICT_LIMITS = {
  maxCandidates: 2000,
  /** Features of the user or of one candidate. */
  maxFeatures: 128,
  /** Values of one multi-valued (list) feature. */
  maxValues: 64,
  maxNameLength: 128,
  maxValueLength: 256,
  maxIdLength: 256,
} as const;

const kindOf = (value: unknown) => (Array.isArray(value) ? 'a list' : value === null ? 'null' : typeof value === 'object' ? 'an object' : `a ${typeof value}`);

/** Says which rule a feature value broke: zod's own message for a failed union is only "Invalid input". */
function featureValueProblem(value: unknown): string {
  if (!Array.isArray(value)) return `a feature value is a string, number, boolean, null, or a list of strings or numbers; not ${kindOf(value)}`;
  if (value.length > PREDICT_LIMITS.maxValues) return `at most ${PREDICT_LIMITS.maxValues} values in a list feature, not ${value.length}`;
  const bad = value.findIndex((item) => !((typeof item === 'string' && item.length <= PREDICT_LIMITS.maxValueLength) || typeof item === 'number'));
  const item: unknown = value[bad];
  return typeof item === 'string'
    ? `value [${bad}] of the list has ${item.length} characters; at most ${PREDICT_LIMITS.maxValueLength}`
    : `the values of a list feature are strings or numbers; value [${bad}] is ${kindOf(item)}`;
}

const FeatureValueSchema = z
  .union(
    [
      z.string().max(PREDICT_LIMITS.maxValueLength),
      z.number().finite(),
      z.boolean(),
      z.null(),
      z.array(z.union([z.string().max(PREDICT_LIMITS.maxValueLength), z.number().finite()])).max(PREDICT_LIMITS.maxValues),
    ],
    { error: (issue) => featureValueProblem(issue.input) },
  )
  .describe('a string (categorical), number (numeric), boolean, list of strings or numbers (multi-valued categorical), or null (missing)');

/**
 * Features of a user or a candidate. A string or boolean is categorical (`country: "us"` hashes
 * `country=us`); a number is numeric and goes into a half-octave bucket (see `numericBucket`:
 * `likes: 40` hashes `likes=#10`), so a count in the millions weighs no more than one in the tens
 * and the model can be non-linear in it; a list is multi-valued categorical (each value hashed as
 * `name=value`, numbers as their decimal text: they are ids); null is a missing value and is skipped.
 */
export const FeaturesSchema = z
  .record(z.string().min(1).max(PREDICT_LIMITS.maxNameLength), FeatureValueSchema)
  .refine((features) => Object.keys(features).length <= PREDICT_LIMITS.maxFeatures, { message: `at most ${PREDICT_LIMITS.maxFeatures} features per user or candidate` });
export type Features = z.infer<typeof FeaturesSchema>;

const EntitySchema = z
  .object({
    id: z.string().min(1).max(PREDICT_LIMITS.maxIdLength),
    features: FeaturesSchema.default({}),
  })
  .strict();

/** `POST /predict` body: one user and the candidates to rank for them. */
export const PredictRequestSchema = z
  .object({
    user: EntitySchema,
    candidates: z
      .array(EntitySchema)
      .min(1, 'at least one candidate to score')
      .max(PREDICT_LIMITS.maxCandidates, `at most ${PREDICT_LIMITS.maxCandidates} candidates per request: split the candidates over several requests`),
  })
  .strict();
export type PredictRequest = z.infer<typeof PredictRequestSchema>;

/** One candidate's scores: its id and a probability in (0, 1) per task, keyed by task name. */
export type CandidateScores = { id: string } & Record<string, number | string>;

/** What the scorer returns; the server adds `tookMs`. */
export interface PredictResult {
  model: string;
  scores: CandidateScores[];
  /** Multiply-adds this request cost, counted from the loop bounds actually run. */
  multiplyAdds: number;
}

/**
 * Checks a parsed JSON body; errors name each bad field, e.g. `candidates[3].features.age`. zod runs
 * on every request: with 100 candidates it takes about a tenth of the medium artifact's scoring time
 * (0.4 of 4 ms), so unlike event ingestion this path has no hand-written fast check.
 */
export function parsePredictRequest(body: unknown): PredictRequest {
  const parsed = PredictRequestSchema.safeParse(body);
  if (parsed.success) return parsed.data;
  const details = zodDetails(parsed.error, { schema: PredictRequestSchema, input: body });
  // A request with thousands of bad candidates would otherwise answer with thousands of details.
  const shown = details.slice(0, 20);
  const more = details.length > shown.length ? ` (and ${details.length - shown.length} more)` : '';
  throw invalidInput(`the predict request is invalid: ${shown.map((d) => `${d.path}: ${d.message}`).join('; ')}${more}`, shown);
}

/**
 * The categorical value a number is hashed as: `#q` with q = sign(v) * floor(2 * log2(1 + |v|)), a
 * bucket per half octave (0 -> #0, 1 -> #2, 40 -> #10, 1e6 -> #39, -3 -> #-4). Bucketing rather than
 * scaling a row by the value keeps every term of a bag the same weight, as counters are usually fed
 * to ranking models.
 */
export function numericBucket(value: number): string {
  const q = Math.floor(2 * Math.log2(1 + Math.abs(value)));
  return value < 0 && q > 0 ? `#-${q}` : `#${q}`;
}

/**
 * Multiply-adds one more candidate costs with this artifact: the part of the first layer that depends
 * on the candidate, the other hidden layers and the heads, plus `featuresPerCandidate` embedding rows
 * (one multiply-add per column each). A FLOP count is twice this. The user's share of the first layer
 * is computed once per request, not per candidate (see `Scorer.score`), so it is not included.
 */
export function flopsPerCandidate(artifact: Pick<ModelArtifact, 'embeddingDim' | 'layers' | 'heads'>, featuresPerCandidate = 0): number {
  const dense = [...artifact.layers, artifact.heads];
  let total = featuresPerCandidate * artifact.embeddingDim + dense[0]!.out * artifact.embeddingDim;
  for (let i = 1; i < dense.length; i++) total += dense[i]!.in * dense[i]!.out;
  return total;
}

/** Candidates that go through the layers together (see denseBlock), a multiple of 4. */
const BLOCK = 8;
/** Logits are clamped here so a score is never exactly 0 or 1 (a log loss downstream would be infinite). */
const MAX_LOGIT = 30;

/** Scores predict requests with one artifact; reuses its buffers, so one instance serves one thread. */
export class Scorer {
  readonly model: string;
  readonly tasks: readonly string[];
  private readonly embeddingDim: number;
  private readonly featureDim: number;
  private readonly embedding: Float32Array;
  /** Hidden layers then the heads; the first is split into user and candidate parts per request. */
  private readonly dense: DenseLayer[];
  private readonly user: Float32Array;
  /** First layer's bias plus its user part: `out`. */
  private readonly firstBias: Float32Array;
  /** First layer's candidate part with the user folded in: `out x embeddingDim`. */
  private readonly firstWeight: Float32Array;
  private readonly bufferA: Float32Array;
  private readonly bufferB: Float32Array;

  constructor(artifact: ModelArtifact) {
    this.model = artifact.model;
    this.tasks = artifact.tasks;
    this.embeddingDim = artifact.embeddingDim;
    this.featureDim = artifact.featureDim;
    this.embedding = artifact.embedding;
    this.dense = [...artifact.layers, artifact.heads];
    const first = this.dense[0]!;
    this.user = new Float32Array(this.embeddingDim);
    this.firstBias = new Float32Array(first.out);
    this.firstWeight = new Float32Array(first.out * this.embeddingDim);
    const widest = Math.max(this.embeddingDim, ...this.dense.map((layer) => layer.out));
    this.bufferA = new Float32Array(BLOCK * widest);
    this.bufferB = new Float32Array(BLOCK * widest);
  }

  /**
   * Scores every candidate of a checked request. The first layer sees `[u, c, u * c]`; its user part
   * `W_u u + b` and the candidate weights with the user folded in, `W_c + W_x diag(u)`, are computed
   * once per request (as production rankers cache the user tower), so a candidate costs
   * `flopsPerCandidate` plus its embedding rows.
   */
  score(request: PredictRequest): PredictResult {
    const E = this.embeddingDim;
    let work = this.bag(request.user.features, this.user, 0);
    const first = this.dense[0]!;
    const u = this.user;
    for (let j = 0; j < first.out; j++) {
      const row = j * first.in;
      let s = first.bias[j]!;
      for (let k = 0; k < E; k++) {
        s += first.weight[row + k]! * u[k]!;
        this.firstWeight[j * E + k] = first.weight[row + E + k]! + first.weight[row + 2 * E + k]! * u[k]!;
      }
      this.firstBias[j] = s;
    }
    work += 2 * first.out * E;

    const { candidates } = request;
    const tasks = this.tasks;
    const heads = this.dense[this.dense.length - 1]!;
    const scores: CandidateScores[] = new Array(candidates.length);
    for (let start = 0; start < candidates.length; start += BLOCK) {
      const n = Math.min(BLOCK, candidates.length - start);
      let x = this.bufferA;
      let y = this.bufferB;
      for (let b = 0; b < n; b++) work += this.bag(candidates[start + b]!.features, x, b * E);
      for (let l = 0; l < this.dense.length; l++) {
        const last = l === this.dense.length - 1;
        if (l === 0) work += denseBlock(this.firstWeight, this.firstBias, E, first.out, x, y, n, !last);
        else work += denseBlock(this.dense[l]!.weight, this.dense[l]!.bias, this.dense[l]!.in, this.dense[l]!.out, x, y, n, !last);
        const swap = x;
        x = y;
        y = swap;
      }
      // x holds the heads' logits, `tasks` per candidate.
      for (let b = 0; b < n; b++) {
        const candidate = candidates[start + b]!;
        const out: CandidateScores = { id: candidate.id };
        for (let t = 0; t < tasks.length; t++) {
          const logit = Math.max(-MAX_LOGIT, Math.min(MAX_LOGIT, x[b * heads.out + t]!));
          out[tasks[t]!] = 1 / (1 + Math.exp(-logit));
        }
        scores[start + b] = out;
      }
    }
    return { model: this.model, scores, multiplyAdds: work };
  }

  /**
   * The embedding bag of one entity's features into `into[offset..offset+E)`: the sum of each term's
   * row, over the square root of the number of terms (so the bag's scale does not
   * grow with how many features a caller sends). Returns the multiply-adds spent.
   */
  private bag(features: Features, into: Float32Array, offset: number): number {
    const E = this.embeddingDim;
    into.fill(0, offset, offset + E);
    let terms = 0;
    for (const name in features) {
      const value = features[name];
      if (value === null || value === undefined) continue;
      if (typeof value === 'string') {
        this.addRow(featureHash(name, value), into, offset);
        terms++;
      } else if (typeof value === 'number') {
        this.addRow(featureHash(name, numericBucket(value)), into, offset);
        terms++;
      } else if (typeof value === 'boolean') {
        this.addRow(featureHash(name, value ? 'true' : 'false'), into, offset);
        terms++;
      } else {
        for (const item of value) this.addRow(featureHash(name, String(item)), into, offset);
        terms += value.length;
      }
    }
    if (terms > 1) {
      const scale = 1 / Math.sqrt(terms);
      for (let k = 0; k < E; k++) into[offset + k]! *= scale;
    }
    return terms * E;
  }

  private addRow(hash: number, into: Float32Array, offset: number): void {
    const E = this.embeddingDim;
    const row = (hash % this.featureDim) * E;
    const table = this.embedding;
    for (let k = 0; k < E; k++) into[offset + k]! += table[row + k]!;
  }
}

/**
 * `y[b] = act(W x[b] + bias)` for `n` inputs of width `inDim`. Four candidates go through a weight row
 * together: each weight is loaded once for four multiply-adds, and the four independent sums let the
 * CPU overlap them (about 2.5 times the throughput of one dot product at a time in V8 on this
 * project's reference machine). Each candidate's sum still runs in the same order whatever its place
 * in the request, so its scores do not depend on the other candidates. ReLU unless `relu` is false
 * (the heads, whose logits the caller turns into probabilities). Returns the multiply-adds spent.
 */
function denseBlock(weight: Float32Array, bias: Float32Array, inDim: number, outDim: number, x: Float32Array, y: Float32Array, n: number, relu: boolean): number {
  for (let j = 0; j < outDim; j++) {
    const row = j * inDim;
    const bj = bias[j]!;
    let b = 0;
    for (; b + 4 <= n; b += 4) {
      const x0 = b * inDim;
      const x1 = x0 + inDim;
      const x2 = x1 + inDim;
      const x3 = x2 + inDim;
      let s0 = bj;
      let s1 = bj;
      let s2 = bj;
      let s3 = bj;
      for (let k = 0; k < inDim; k++) {
        const w = weight[row + k]!;
        s0 += w * x[x0 + k]!;
        s1 += w * x[x1 + k]!;
        s2 += w * x[x2 + k]!;
        s3 += w * x[x3 + k]!;
      }
      y[b * outDim + j] = relu && s0 < 0 ? 0 : s0;
      y[(b + 1) * outDim + j] = relu && s1 < 0 ? 0 : s1;
      y[(b + 2) * outDim + j] = relu && s2 < 0 ? 0 : s2;
      y[(b + 3) * outDim + j] = relu && s3 < 0 ? 0 : s3;
    }
    for (; b < n; b++) {
      const xo = b * inDim;
      let s = bj;
      for (let k = 0; k < inDim; k++) s += weight[row + k]! * x[xo + k]!;
      y[b * outDim + j] = relu && s < 0 ? 0 : s;
    }
  }
  return n * inDim * outDim;
}
