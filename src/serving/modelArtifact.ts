import { readFile, rename, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { invalidInput, type ErrorDetail } from '../core/errors.js';
import { zodDetails } from '../core/zodIssues.js';
import { TaskNameSchema } from '../registry/modelType.js';
import { createRng } from '../sim/random.js';
import { fnv1a } from './featureHash.js';

/**
 * The model artifact: the weights the model server scores with, as one versioned JSON document.
 *
 * The network (format `modelfleet-mlp`, version 1):
 * - every feature of the user and of a candidate is hashed (FNV-1a 32-bit over the UTF-8 of
 *   `name=value`, numbers as their bucket: see featureHash.ts and `numericBucket` in scorer.ts) into
 *   one of `featureDim` rows of a shared embedding table of `embeddingDim` columns; each side's rows
 *   are summed and divided by the square root of the number of terms (an embedding bag);
 * - the trunk's input is `[user, candidate, user * candidate]` (3 x embeddingDim), the product giving
 *   the first layer user-candidate interactions;
 * - `hidden` dense layers with ReLU, then one logistic head per task.
 *
 * Weights are little-endian float32 arrays in base64. A dense layer's weight is row-major with one row
 * per output unit (`out x in`), so a row is contiguous for the dot product that computes that unit.
 */
export const ARTIFACT_FORMAT = 'modelfleet-mlp';
/** The artifact version this code reads and writes; a reader refuses any other, saying so. */
export const ARTIFACT_VERSION = 1;

/** Named artifact dimensions for generated artifacts: the cost of a request grows with each step. */
export const ArtifactSize = ['small', 'medium', 'large'] as const;
export type ArtifactSize = (typeof ArtifactSize)[number];

/** The dimensions a size stands for: from a light early-stage ranker to a heavy late-stage one. */
export const ARTIFACT_SIZES: Record<ArtifactSize, { featureDim: number; embeddingDim: number; hidden: number[] }> = {
  small: { featureDim: 2 ** 12, embeddingDim: 16, hidden: [64, 32] },
  medium: { featureDim: 2 ** 14, embeddingDim: 32, hidden: [256, 128] },
  large: { featureDim: 2 ** 16, embeddingDim: 64, hidden: [1024, 512, 256] },
};

/** The tasks of a generated artifact when none are named. */
export const DEFAULT_TASKS = ['PLIKE', 'PCOMMENT', 'PFOLLOW'] as const;

/** Bounds that keep one artifact within a server's memory (the largest allowed is about 1 GiB of float32). */
export const ARTIFACT_LIMITS = {
  maxFeatureDim: 2 ** 22,
  maxEmbeddingDim: 512,
  maxHiddenLayers: 8,
  maxHiddenUnits: 8192,
  maxTasks: 32,
  maxParameters: 2 ** 28,
} as const;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const Base64Floats = z.string().regex(BASE64, 'base64 of little-endian float32 values, standard alphabet (A-Z, a-z, 0-9, +, /) with = padding');

/** Identifies a model: the registry's `<type>:<version>`, or any name without spaces. */
export const ModelIdSchema = z.string().min(1).max(200).regex(/^[^\s]+$/, 'model ids have no spaces (e.g. ig_feed_mtml:v3)');

/** The artifact document as stored: dimensions and base64 weights. */
export const ArtifactDocumentSchema = z
  .object({
    format: z.literal(ARTIFACT_FORMAT, { error: `format must be '${ARTIFACT_FORMAT}'` }),
    version: z.number().int().refine((v) => v === ARTIFACT_VERSION, { message: `this modelfleet reads artifact version ${ARTIFACT_VERSION}; convert the artifact or upgrade modelfleet` }),
    model: ModelIdSchema,
    tasks: z
      .array(TaskNameSchema)
      .min(1)
      .max(ARTIFACT_LIMITS.maxTasks)
      .refine((tasks) => new Set(tasks).size === tasks.length, { message: 'task names must be unique' }),
    featureDim: z.number().int().min(1).max(ARTIFACT_LIMITS.maxFeatureDim).describe('rows of the hashed embedding table'),
    embeddingDim: z.number().int().min(1).max(ARTIFACT_LIMITS.maxEmbeddingDim),
    hidden: z.array(z.number().int().min(1).max(ARTIFACT_LIMITS.maxHiddenUnits)).max(ARTIFACT_LIMITS.maxHiddenLayers).describe('units of each ReLU layer; empty: logistic heads on the interaction features'),
    seed: z.number().int().optional().describe('for generated artifacts: the seed they were generated from'),
    weights: z
      .object({
        embedding: Base64Floats.describe('featureDim x embeddingDim'),
        layers: z.array(z.object({ weight: Base64Floats, bias: Base64Floats }).strict()).describe('one per hidden layer: out x in, and out'),
        heads: z.record(z.string(), z.object({ weight: Base64Floats, bias: z.number().finite() }).strict()).describe('one per task: a weight per unit of the last layer, and a bias'),
      })
      .strict(),
  })
  .strict();
export type ArtifactDocument = z.infer<typeof ArtifactDocumentSchema>;

/** One dense layer, decoded: `weight` is `out x in`, row-major. */
export interface DenseLayer {
  in: number;
  out: number;
  weight: Float32Array;
  bias: Float32Array;
}

/** An artifact with its weights decoded and its shapes checked: what the scorer runs. */
export interface ModelArtifact {
  model: string;
  tasks: string[];
  featureDim: number;
  embeddingDim: number;
  hidden: number[];
  seed?: number;
  /** featureDim x embeddingDim, row-major. */
  embedding: Float32Array;
  /** The hidden layers in order. */
  layers: DenseLayer[];
  /** The task heads as one layer: row t is task t's weights (in `tasks` order), `bias[t]` its bias. */
  heads: DenseLayer;
}

/** Input width of the first dense layer (or of the heads, without hidden layers). */
export const trunkInputDim = (embeddingDim: number) => 3 * embeddingDim;

/** Parameters of an artifact with these dimensions, for size checks and reports. */
export function parameterCount(dims: { featureDim: number; embeddingDim: number; hidden: readonly number[]; tasks: readonly string[] }): number {
  let total = dims.featureDim * dims.embeddingDim;
  let width = trunkInputDim(dims.embeddingDim);
  for (const units of dims.hidden) {
    total += units * width + units;
    width = units;
  }
  return total + dims.tasks.length * (width + 1);
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Encodes float32 values as little-endian base64, whatever the machine's byte order. */
export function encodeFloats(values: Float32Array): string {
  if (LITTLE_ENDIAN) return Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64');
  const bytes = Buffer.alloc(values.length * 4);
  for (let i = 0; i < values.length; i++) bytes.writeFloatLE(values[i]!, i * 4);
  return bytes.toString('base64');
}

/** Decodes little-endian base64 float32 values into an aligned array of their own. */
export function decodeFloats(base64: string): Float32Array {
  const bytes = Buffer.from(base64, 'base64');
  // Float32Array needs 4-byte alignment, which a Buffer from the shared pool does not promise: copy.
  const out = new Float32Array(Math.floor(bytes.byteLength / 4));
  if (LITTLE_ENDIAN) new Uint8Array(out.buffer).set(bytes.subarray(0, out.length * 4));
  else for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4);
  return out;
}

/** Bytes a base64 string decodes to, without decoding it. */
function base64Bytes(base64: string): number {
  const padding = base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0;
  return (base64.length / 4) * 3 - padding;
}

const shapeText = (rows: number, cols: number) => (cols === 1 ? `${rows}` : `${rows} x ${cols} = ${rows * cols}`);

/**
 * Decodes one weight array, checking its length against the shape it must have and that every value
 * is finite; problems are added to `problems` with the array's path.
 */
function decodeChecked(base64: string, rows: number, cols: number, path: string, problems: ErrorDetail[]): Float32Array {
  const expected = rows * cols;
  if (base64.length % 4 !== 0 || base64Bytes(base64) !== expected * 4) {
    const bytes = base64.length % 4 === 0 ? base64Bytes(base64) : NaN;
    const found = Number.isNaN(bytes) ? 'a base64 length that is not a multiple of 4' : bytes % 4 ? `${bytes} bytes (not whole float32 values)` : `${bytes / 4}`;
    problems.push({ path, message: `expected ${shapeText(rows, cols)} float32 values, found ${found}` });
    return new Float32Array(expected);
  }
  const values = decodeFloats(base64);
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!)) {
      problems.push({ path, message: `value ${i} is ${values[i]}: weights must be finite (a diverged training run?)` });
      break;
    }
  }
  return values;
}

/**
 * Checks an artifact document (already JSON-parsed) and decodes its weights. Every problem is reported
 * with its path, e.g. `weights.layers[1].weight: expected 256 x 128 = 32768 float32 values, found 1000`;
 * `source` (a file name) starts the message.
 */
export function parseArtifact(value: unknown, source = 'artifact'): ModelArtifact {
  const parsed = ArtifactDocumentSchema.safeParse(value);
  if (!parsed.success) {
    const details = zodDetails(parsed.error, { schema: ArtifactDocumentSchema, input: value });
    throw invalidInput(`${source} is not a valid model artifact: ${details.map((d) => `${d.path}: ${d.message}`).join('; ')}`, details);
  }
  const doc = parsed.data;
  const problems: ErrorDetail[] = [];
  const parameters = parameterCount(doc);
  if (parameters > ARTIFACT_LIMITS.maxParameters) {
    problems.push({ path: '(root)', message: `${parameters} parameters is more than the ${ARTIFACT_LIMITS.maxParameters} a model server loads; lower featureDim, embeddingDim or hidden` });
    throw invalidInput(`${source} is not a valid model artifact: ${problems[0]!.message}`, problems);
  }
  const embedding = decodeChecked(doc.weights.embedding, doc.featureDim, doc.embeddingDim, 'weights.embedding', problems);
  if (doc.weights.layers.length !== doc.hidden.length) {
    problems.push({ path: 'weights.layers', message: `expected ${doc.hidden.length} layers (one per entry of hidden: [${doc.hidden.join(', ')}]), found ${doc.weights.layers.length}` });
  }
  const layers: DenseLayer[] = [];
  let width = trunkInputDim(doc.embeddingDim);
  doc.hidden.forEach((units, i) => {
    const stored = doc.weights.layers[i];
    if (stored) {
      const weight = decodeChecked(stored.weight, units, width, `weights.layers[${i}].weight`, problems);
      const bias = decodeChecked(stored.bias, units, 1, `weights.layers[${i}].bias`, problems);
      layers.push({ in: width, out: units, weight, bias });
    }
    width = units;
  });
  const headWeight = new Float32Array(doc.tasks.length * width);
  const headBias = new Float32Array(doc.tasks.length);
  doc.tasks.forEach((task, t) => {
    const head = doc.weights.heads[task];
    if (!head) {
      problems.push({ path: `weights.heads.${task}`, message: `missing the head of task ${task}: every task in tasks needs one` });
      return;
    }
    headWeight.set(decodeChecked(head.weight, width, 1, `weights.heads.${task}.weight`, problems), t * width);
    headBias[t] = head.bias;
  });
  for (const task of Object.keys(doc.weights.heads)) {
    if (!doc.tasks.includes(task)) problems.push({ path: `weights.heads.${task}`, message: `a head for ${task}, which is not in tasks [${doc.tasks.join(', ')}]: add the task or remove the head` });
  }
  if (problems.length) throw invalidInput(`${source} is not a valid model artifact: ${problems.map((d) => `${d.path}: ${d.message}`).join('; ')}`, problems);
  return {
    model: doc.model,
    tasks: [...doc.tasks],
    featureDim: doc.featureDim,
    embeddingDim: doc.embeddingDim,
    hidden: [...doc.hidden],
    ...(doc.seed !== undefined ? { seed: doc.seed } : {}),
    embedding,
    layers,
    heads: { in: width, out: doc.tasks.length, weight: headWeight, bias: headBias },
  };
}

/** The stored form of an artifact. */
export function encodeArtifact(artifact: ModelArtifact): ArtifactDocument {
  const width = artifact.heads.in;
  return {
    format: ARTIFACT_FORMAT,
    version: ARTIFACT_VERSION,
    model: artifact.model,
    tasks: [...artifact.tasks],
    featureDim: artifact.featureDim,
    embeddingDim: artifact.embeddingDim,
    hidden: [...artifact.hidden],
    ...(artifact.seed !== undefined ? { seed: artifact.seed } : {}),
    weights: {
      embedding: encodeFloats(artifact.embedding),
      layers: artifact.layers.map((layer) => ({ weight: encodeFloats(layer.weight), bias: encodeFloats(layer.bias) })),
      heads: Object.fromEntries(
        artifact.tasks.map((task, t) => [task, { weight: encodeFloats(artifact.heads.weight.subarray(t * width, (t + 1) * width)), bias: artifact.heads.bias[t]! }]),
      ),
    },
  };
}

/** Reads and checks an artifact file; errors name the file and say what is wrong where. */
export async function loadArtifact(file: string): Promise<ModelArtifact> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw invalidInput(code === 'ENOENT' ? `artifact ${file} does not exist: check the path, or write one with --write-artifact` : `cannot read artifact ${file}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw invalidInput(`artifact ${file} is not valid JSON: ${(error as Error).message}`);
  }
  return parseArtifact(value, `artifact ${file}`);
}

/** Writes an artifact file; through a temporary file and a rename, so a reader never sees half of one. */
export async function saveArtifact(file: string, artifact: ModelArtifact): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, JSON.stringify(encodeArtifact(artifact)));
  await rename(temporary, file);
}

/** What to generate: dimensions come from `size` (default medium) unless given. */
export interface GenerateArtifactOptions {
  model: string;
  tasks?: readonly string[];
  size?: ArtifactSize;
  featureDim?: number;
  embeddingDim?: number;
  hidden?: readonly number[];
  /** Default: derived from the model id, so one model always gets the same weights. */
  seed?: number;
}

/** The seed a model's generated artifact uses by default. */
export const seedOfModel = (model: string) => fnv1a(model);

/**
 * A deterministic artifact with plausible weights: the same options give the same bytes on every
 * machine. Weights are drawn uniformly with He scaling for the ReLU layers, so activations neither
 * vanish nor explode with depth; each head's bias is the logit of a base rate between 0.5% and 15%,
 * so scores look like engagement probabilities rather than coin flips.
 */
export function generateArtifact(options: GenerateArtifactOptions): ModelArtifact {
  const base = ARTIFACT_SIZES[options.size ?? 'medium'];
  const dims = {
    model: options.model,
    tasks: [...(options.tasks ?? DEFAULT_TASKS)],
    featureDim: options.featureDim ?? base.featureDim,
    embeddingDim: options.embeddingDim ?? base.embeddingDim,
    hidden: [...(options.hidden ?? base.hidden)],
    seed: options.seed ?? seedOfModel(options.model),
  };
  // Check the dimensions with the stored form's schema, so a bad option reads like a bad file.
  const check = ArtifactDocumentSchema.omit({ weights: true }).safeParse({ format: ARTIFACT_FORMAT, version: ARTIFACT_VERSION, ...dims });
  if (!check.success) {
    const details = zodDetails(check.error);
    throw invalidInput(`cannot generate an artifact: ${details.map((d) => `${d.path}: ${d.message}`).join('; ')}`, details);
  }
  const parameters = parameterCount(dims);
  if (parameters > ARTIFACT_LIMITS.maxParameters) throw invalidInput(`cannot generate an artifact of ${parameters} parameters (at most ${ARTIFACT_LIMITS.maxParameters})`);

  const rng = createRng(dims.seed);
  const uniform = (n: number, limit: number) => {
    const values = new Float32Array(n);
    for (let i = 0; i < n; i++) values[i] = (rng.next() * 2 - 1) * limit;
    return values;
  };
  // Rows of unit variance: a bag of any number of features then has about unit variance too.
  const embedding = uniform(dims.featureDim * dims.embeddingDim, Math.sqrt(3));
  const layers: DenseLayer[] = [];
  let width = trunkInputDim(dims.embeddingDim);
  for (const units of dims.hidden) {
    layers.push({ in: width, out: units, weight: uniform(units * width, Math.sqrt(6 / width)), bias: uniform(units, 0.05) });
    width = units;
  }
  // Heads scaled so logits spread by about one unit across candidates around the base rate.
  const headWeight = uniform(dims.tasks.length * width, Math.sqrt(3 / width));
  const headBias = new Float32Array(dims.tasks.length);
  for (let t = 0; t < dims.tasks.length; t++) {
    const rate = Math.exp(rng.float(Math.log(0.005), Math.log(0.15)));
    headBias[t] = Math.log(rate / (1 - rate));
  }
  return {
    ...dims,
    embedding,
    layers,
    heads: { in: width, out: dims.tasks.length, weight: headWeight, bias: headBias },
  };
}
