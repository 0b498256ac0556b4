import type { ModelInput } from '../registry/model.js';
import type { ModelTypeInput } from '../registry/modelType.js';
import type { TeamInput } from '../registry/team.js';
import { Criticality, criticalityRank, type FunnelStage, type ModelRole } from '../registry/vocabulary.js';
import { createRng, type Rng } from './random.js';

/**
 * A deterministic synthetic fleet shaped like Instagram's: a dozen ranking teams, surfaces with
 * subsurfaces, a funnel of retrieval, early- and late-stage ranking, every criticality tier, and about
 * eight models per type in every role. The demo, tests and benchmarks all load it, so it must be valid
 * registry input as generated (schemas, name grammar, criticality obligations, cross-entry invariants).
 */

export interface FleetOptions {
  /** PRNG seed; the same seed always gives the same fleet. Default {@link DEFAULT_FLEET_SEED}. */
  seed?: number;
  /** Exact number of models to generate; types are ceil(models / 8). Default 1200 (150 types). */
  models?: number;
}

export interface Fleet {
  teams: TeamInput[];
  modelTypes: ModelTypeInput[];
  models: ModelInput[];
}

export const DEFAULT_FLEET_SEED = 20240501;
export const DEFAULT_FLEET_MODELS = 1200;
/** Average models per type; the fleet has ceil(models / MODELS_PER_TYPE) types. */
export const MODELS_PER_TYPE = 8;

type App = 'ig' | 'fb' | 'threads' | 'wa' | 'msgr';

const APPS: readonly (readonly [App, number])[] = [
  ['ig', 80],
  ['threads', 7],
  ['fb', 6],
  ['msgr', 4],
  ['wa', 3],
];

const APP_LABEL: Record<App, string> = {
  ig: 'Instagram',
  fb: 'Facebook',
  threads: 'Threads',
  wa: 'WhatsApp',
  msgr: 'Messenger',
};

export const FLEET_SURFACES = ['feed', 'stories', 'reels', 'explore', 'comments', 'notifications', 'tagging', 'search'] as const;
export type FleetSurface = (typeof FLEET_SURFACES)[number];

interface SurfaceProfile {
  label: string;
  /** What the surface's models rank, for descriptions. */
  items: string;
  team: string;
  weight: number;
  subsurfaces: readonly (readonly [string, number])[];
  tasks: readonly string[];
  metrics: readonly string[];
}

const SURFACES: Record<FleetSurface, SurfaceProfile> = {
  feed: {
    label: 'Feed',
    items: 'posts',
    team: 'feed-ranking',
    weight: 4,
    subsurfaces: [['main', 5], ['following', 2], ['suggested', 3], ['ads', 2], ['integrity', 1], ['favorites', 1]],
    tasks: ['PLIKE', 'PCOMMENT', 'PSHARE', 'PSAVE', 'PFOLLOW', 'PVIEW_3S', 'PDWELL_10S', 'PCLICK', 'PHIDE', 'PPROFILE_CLICK'],
    metrics: ['daily_active_users', 'time_spent', 'ad_revenue', 'feed_sessions'],
  },
  stories: {
    label: 'Stories',
    items: 'stories',
    team: 'stories-ranking',
    weight: 3,
    subsurfaces: [['tray', 5], ['viewer', 4], ['ads', 2], ['highlights', 1], ['replies', 1]],
    tasks: ['PVIEW', 'PLIKE', 'PREPLY', 'PSHARE', 'PCOMPLETE', 'PSKIP', 'PTAP_FORWARD', 'PEXIT', 'PPROFILE_CLICK'],
    metrics: ['daily_active_users', 'stories_time_spent', 'ad_revenue', 'story_replies'],
  },
  reels: {
    label: 'Reels',
    items: 'reels',
    team: 'reels-ranking',
    weight: 4,
    subsurfaces: [['tab', 4], ['viewer', 3], ['chaining', 3], ['ads', 2], ['audio', 1], ['remix', 1]],
    tasks: ['PLIKE', 'PCOMMENT', 'PSHARE', 'PSAVE', 'PFOLLOW', 'PVIEW_3S', 'PWATCH_50PCT', 'PCOMPLETE', 'PSKIP', 'PREMIX'],
    metrics: ['time_spent', 'reels_watch_time', 'daily_active_users', 'ad_revenue'],
  },
  explore: {
    label: 'Explore',
    items: 'posts and reels',
    team: 'explore-ranking',
    weight: 3,
    subsurfaces: [['grid', 5], ['tab', 2], ['chaining', 3], ['topics', 1], ['ads', 1]],
    tasks: ['PCLICK', 'PLIKE', 'PSAVE', 'PFOLLOW', 'PDWELL_10S', 'PSHARE', 'PCOMMENT', 'PVIEW_3S'],
    metrics: ['time_spent', 'content_discovery', 'daily_active_users'],
  },
  comments: {
    label: 'Comments',
    items: 'comments',
    team: 'comments-ranking',
    weight: 2,
    subsurfaces: [['ranking', 5], ['replies', 2], ['composer', 1], ['integrity', 2]],
    tasks: ['PLIKE', 'PREPLY', 'PVIEW_REPLIES', 'PREPORT', 'PHIDE', 'PDWELL_10S'],
    metrics: ['meaningful_interactions', 'integrity_prevalence', 'time_spent'],
  },
  notifications: {
    label: 'Notifications',
    items: 'notifications',
    team: 'notifications-ranking',
    weight: 2,
    subsurfaces: [['push', 5], ['email', 3], ['inbox', 3], ['badge', 1], ['sms', 1]],
    tasks: ['POPEN', 'PCLICK', 'PDISMISS', 'PUNSUBSCRIBE', 'PDISABLE', 'PSESSION_START'],
    metrics: ['daily_active_users', 'notification_ctr', 'sessions'],
  },
  tagging: {
    label: 'Tagging',
    items: 'tag suggestions',
    team: 'tagging',
    weight: 1,
    subsurfaces: [['people', 4], ['product', 3], ['location', 2], ['suggestions', 2]],
    tasks: ['PACCEPT', 'PTAG', 'PREMOVE', 'PCLICK'],
    metrics: ['tags_created', 'meaningful_interactions', 'shopping_conversions'],
  },
  search: {
    label: 'Search',
    items: 'search results',
    team: 'search-ranking',
    weight: 2,
    subsurfaces: [['typeahead', 5], ['results', 4], ['hashtags', 2], ['accounts', 2], ['keyword', 1], ['nullstate', 1]],
    tasks: ['PCLICK', 'PFOLLOW', 'PDWELL_10S', 'PVIEW_PROFILE', 'PQUERY_REFINE', 'PLIKE'],
    metrics: ['search_success_rate', 'daily_active_users', 'searches_per_user'],
  },
};

const SURFACE_WEIGHTS: readonly (readonly [FleetSurface, number])[] = FLEET_SURFACES.map((s) => [s, SURFACES[s].weight] as const);

/** Second-level subsurface tokens; none of them appears in a surface's first-level list. */
const MODIFIERS = ['video', 'photo', 'carousel', 'coldstart', 'lite', 'intl', 'teens', 'creators'] as const;

const TASK_DESCRIPTIONS: Record<string, string> = {
  PLIKE: 'probability the viewer likes the item',
  PCOMMENT: 'probability the viewer comments on the item',
  PSHARE: 'probability the viewer shares the item',
  PSAVE: 'probability the viewer saves the item',
  PFOLLOW: "probability the viewer follows the item's author",
  PVIEW: 'probability the viewer opens the item',
  PVIEW_3S: 'probability the viewer watches or looks at the item for at least 3 seconds',
  PDWELL_10S: 'probability the viewer dwells on the item for at least 10 seconds',
  PCLICK: 'probability the viewer clicks through',
  PHIDE: 'probability the viewer hides the item or marks it not interested',
  PPROFILE_CLICK: "probability the viewer opens the author's profile",
  PREPLY: 'probability the viewer replies',
  PCOMPLETE: 'probability the viewer watches to the end',
  PSKIP: 'probability the viewer skips within a second',
  PTAP_FORWARD: 'probability the viewer taps forward past the item',
  PEXIT: 'probability the viewer leaves the viewer on this item',
  PWATCH_50PCT: 'probability the viewer watches at least half of the video',
  PREMIX: 'probability the viewer remixes the reel',
  PVIEW_REPLIES: 'probability the viewer expands the replies',
  PREPORT: 'probability the viewer reports the comment',
  POPEN: 'probability the recipient opens the notification',
  PDISMISS: 'probability the recipient dismisses the notification',
  PUNSUBSCRIBE: 'probability the recipient unsubscribes from this kind of notification',
  PDISABLE: 'probability the recipient disables notifications entirely',
  PSESSION_START: 'probability the notification starts a session',
  PACCEPT: 'probability the suggested tag is accepted',
  PTAG: 'probability the user adds a tag',
  PREMOVE: 'probability the tagged user removes the tag',
  PVIEW_PROFILE: 'probability the searcher opens a result profile',
  PQUERY_REFINE: 'probability the searcher refines the query instead of engaging',
};

const TEAMS: readonly TeamInput[] = [
  { name: 'feed-ranking', description: 'Ranks the main Feed: organic posts, suggested posts and their integrity signals.' },
  { name: 'stories-ranking', description: 'Ranks the Stories tray and the order of stories in the viewer.' },
  { name: 'reels-ranking', description: 'Ranks Reels in the tab, the viewer and chaining.' },
  { name: 'explore-ranking', description: 'Ranks the Explore grid and its chaining surfaces for discovery.' },
  { name: 'comments-ranking', description: 'Orders comments and replies under posts and reels.' },
  { name: 'notifications-ranking', description: 'Decides which push, email and inbox notifications to send and when.' },
  { name: 'tagging', description: 'Suggests people, product and location tags.' },
  { name: 'search-ranking', description: 'Ranks typeahead and search results for accounts, hashtags and keywords.' },
  { name: 'retrieval-infra', description: 'Owns shared candidate retrieval: two-tower embeddings and ANN indexes.' },
  { name: 'integrity-ranking', description: 'Demotes harmful and low-quality content across surfaces.' },
  { name: 'ads-ranking', description: 'Ranks ads inserted into Feed, Stories, Reels and Explore.' },
].map((team) => ({ ...team, oncallRotation: `${team.name}-oncall` }));

const STAGE_WEIGHTS: readonly (readonly [FunnelStage, number])[] = [
  ['retrieval', 20],
  ['early_stage_ranking', 25],
  ['late_stage_ranking', 45],
  ['other', 10],
];

type Architecture = 'mtml' | 'mtl' | 'dlrm' | 'twotower' | 'gbdt' | 'lr' | 'dnn' | 'dcn' | 'moe' | 'transformer';

interface StageProfile {
  verb: string;
  architectures: readonly (readonly [Architecture, number])[];
  tasks: readonly [number, number];
  tiers: readonly (readonly [Criticality, number])[];
  /** Ranges of the type's capacity; retrieval serves many cheap lookups, late stage few heavy ones. */
  qps: readonly [number, number];
  replicas: readonly [number, number];
  unitCost: readonly [number, number];
}

const STAGES: Record<FunnelStage, StageProfile> = {
  retrieval: {
    verb: 'Retrieves candidate',
    architectures: [['twotower', 6], ['dnn', 2], ['transformer', 1], ['moe', 1]],
    tasks: [1, 3],
    tiers: [['TIER0', 1], ['TIER1', 3], ['TIER2', 4], ['TIER3', 2], ['TIER4', 1]],
    qps: [800, 2000],
    replicas: [20, 200],
    unitCost: [0.5, 1.5],
  },
  early_stage_ranking: {
    verb: 'Pre-ranks retrieved',
    architectures: [['dnn', 3], ['mtl', 3], ['dcn', 2], ['twotower', 1], ['gbdt', 1], ['lr', 1]],
    tasks: [2, 5],
    tiers: [['TIER0', 0.5], ['TIER1', 2], ['TIER2', 4], ['TIER3', 3], ['TIER4', 1]],
    qps: [300, 1200],
    replicas: [10, 120],
    unitCost: [0.8, 2],
  },
  late_stage_ranking: {
    verb: 'Ranks',
    architectures: [['mtml', 6], ['dlrm', 2], ['dcn', 2], ['mtl', 2], ['moe', 1], ['transformer', 1]],
    tasks: [3, 8],
    tiers: [['TIER0', 2], ['TIER1', 4], ['TIER2', 4], ['TIER3', 2], ['TIER4', 1]],
    qps: [50, 400],
    replicas: [20, 200],
    unitCost: [2, 4],
  },
  other: {
    verb: 'Scores',
    architectures: [['gbdt', 3], ['lr', 3], ['dnn', 2], ['transformer', 1]],
    tasks: [1, 3],
    tiers: [['TIER1', 0.5], ['TIER2', 2], ['TIER3', 4], ['TIER4', 3]],
    qps: [100, 800],
    replicas: [1, 40],
    unitCost: [0.5, 1.5],
  },
};

interface TypeShape {
  app: App;
  surface: FleetSurface;
  subsurfaces: string[];
  stage: FunnelStage;
  architecture: Architecture;
  tier?: Criticality;
}

/**
 * The first types are fixed so that even a small fleet covers every surface, funnel stage and tier,
 * and the names the docs use as examples exist.
 */
const ANCHORS: readonly Required<TypeShape>[] = [
  { app: 'ig', surface: 'feed', subsurfaces: ['main'], stage: 'late_stage_ranking', architecture: 'mtml', tier: 'TIER0' },
  { app: 'ig', surface: 'stories', subsurfaces: ['tray'], stage: 'late_stage_ranking', architecture: 'mtml', tier: 'TIER1' },
  { app: 'ig', surface: 'reels', subsurfaces: ['tab'], stage: 'retrieval', architecture: 'twotower', tier: 'TIER1' },
  { app: 'ig', surface: 'explore', subsurfaces: ['grid'], stage: 'early_stage_ranking', architecture: 'dnn', tier: 'TIER2' },
  { app: 'ig', surface: 'comments', subsurfaces: ['ranking'], stage: 'late_stage_ranking', architecture: 'dcn', tier: 'TIER2' },
  { app: 'ig', surface: 'notifications', subsurfaces: ['push'], stage: 'other', architecture: 'gbdt', tier: 'TIER3' },
  { app: 'ig', surface: 'tagging', subsurfaces: ['people'], stage: 'other', architecture: 'lr', tier: 'TIER4' },
  { app: 'ig', surface: 'search', subsurfaces: ['typeahead'], stage: 'retrieval', architecture: 'twotower', tier: 'TIER3' },
];

/** Draws of a fresh name before giving up and disambiguating with a shard token like `s12`. */
const NAME_RETRIES = 6;

const round = (value: number, digits: number): number => {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
};

function listPhrase(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  if (items.length <= 3) return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
  return `${items.slice(0, 3).join(', ')} and ${items.length - 3} more`;
}

function drawShape(rng: Rng): TypeShape {
  const app = rng.weighted(APPS);
  const surface = rng.weighted(SURFACE_WEIGHTS);
  const stage = rng.weighted(STAGE_WEIGHTS);
  const architecture = rng.weighted(STAGES[stage].architectures);
  const depth = rng.weighted<number>([[0, 20], [1, 65], [2, 15]]);
  const subsurfaces: string[] = [];
  if (depth >= 1) subsurfaces.push(rng.weighted(SURFACES[surface].subsurfaces));
  if (depth >= 2) subsurfaces.push(rng.pick(MODIFIERS));
  return { app, surface, subsurfaces, stage, architecture };
}

const nameOf = (shape: TypeShape, extra: string[] = []): string =>
  [shape.app, shape.surface, ...shape.subsurfaces, ...extra, shape.architecture].join('_');

function ownerOf(rng: Rng, shape: TypeShape): string {
  if (shape.subsurfaces.includes('ads')) return 'ads-ranking';
  if (shape.subsurfaces.includes('integrity')) return 'integrity-ranking';
  if (shape.stage === 'retrieval' && rng.chance(0.4)) return 'retrieval-infra';
  return SURFACES[shape.surface].team;
}

function tierOf(rng: Rng, shape: TypeShape): Criticality {
  if (shape.tier) return shape.tier;
  const tier = rng.weighted(STAGES[shape.stage].tiers);
  // Outside Instagram the fleet is smaller and less central; nothing there is TIER0.
  return shape.app !== 'ig' && tier === 'TIER0' ? 'TIER1' : tier;
}

interface GeneratedType {
  input: ModelTypeInput;
  stage: FunnelStage;
  tier: Criticality;
  tasks: string[];
  app: App;
}

function buildType(rng: Rng, shape: TypeShape, name: string): GeneratedType {
  const profile = SURFACES[shape.surface];
  const stage = STAGES[shape.stage];
  const tier = tierOf(rng, shape);
  const owner = ownerOf(rng, shape);
  const taskCount = rng.int(stage.tasks[0], Math.min(stage.tasks[1], profile.tasks.length));
  const tasks = rng.sample(profile.tasks, taskCount);
  const high = criticalityRank(tier) <= criticalityRank('TIER1');
  const coverage = high || (tier === 'TIER2' && rng.chance(0.5)) ? '24x7' : 'business_hours';
  const where = shape.subsurfaces.length ? ` (${shape.subsurfaces.join(' / ')})` : '';
  const description = `${stage.verb} ${profile.items} for ${APP_LABEL[shape.app]} ${profile.label}${where}, predicting ${listPhrase(tasks)}.`;
  const metrics = high ? rng.sample(profile.metrics, rng.int(1, Math.min(3, profile.metrics.length))) : [];
  const tags = new Set([
    `surface:${shape.surface}`,
    `app:${shape.app}`,
    `arch:${shape.architecture}`,
    `funnel:${shape.stage.replace(/_/g, '-')}`,
    ...shape.subsurfaces.map((s) => `subsurface:${s}`),
  ]);
  const input: ModelTypeInput = {
    name,
    description,
    funnelStage: shape.stage,
    ownerTeam: owner,
    oncall: { rotation: `${owner}-oncall`, coverage },
    criticality: tier,
    criticalityJustification: high
      ? {
          businessMetrics: metrics,
          rationale: `A regression in ${APP_LABEL[shape.app]} ${profile.label} ${shape.stage.replace(/_/g, ' ')} moves ${listPhrase(metrics)} within hours for all users of the surface.`,
        }
      : null,
    tasks: tasks.map((task) => ({ name: task, description: TASK_DESCRIPTIONS[task] ?? `probability of ${task.slice(1).toLowerCase()}` })),
    tags: [...tags],
  };
  return { input, stage: shape.stage, tier, tasks, app: shape.app };
}

function generateTypes(rng: Rng, count: number): GeneratedType[] {
  const taken = new Set<string>();
  const types: GeneratedType[] = [];
  let shard = 0;
  for (let i = 0; i < count; i++) {
    const anchor = ANCHORS[i];
    let shape: TypeShape = anchor ? { ...anchor, subsurfaces: [...anchor.subsurfaces] } : drawShape(rng);
    let name = nameOf(shape);
    for (let attempt = 0; taken.has(name) && attempt < NAME_RETRIES; attempt++) {
      shape = drawShape(rng);
      name = nameOf(shape);
    }
    // Large fleets exhaust the readable names; a shard token keeps them unique and grammatical.
    while (taken.has(name)) {
      shard += 1;
      const token = `s${shard}`;
      name = nameOf(shape, [token]);
      if (!taken.has(name)) shape = { ...shape, subsurfaces: [...shape.subsurfaces, token] };
    }
    taken.add(name);
    types.push(buildType(rng, shape, name));
  }
  return types;
}

/** Splits `total` models over `types` types: about MODELS_PER_TYPE each, varied, summing exactly. */
function modelCounts(rng: Rng, total: number, types: number): number[] {
  if (types === 0) return [];
  const base = Math.floor(total / types);
  const remainder = total - base * types;
  const counts = Array.from({ length: types }, (_, i) => base + (i < remainder ? 1 : 0));
  const floor = Math.min(base, 3);
  const ceiling = 20;
  for (let i = 0; i < types; i++) {
    const j = rng.int(0, types - 1);
    const from = counts[j] ?? 0;
    const to = counts[i] ?? 0;
    if (i === j) continue;
    const movable = Math.min(from - floor, ceiling - to, 6);
    if (movable <= 0) continue;
    const moved = rng.int(0, movable);
    counts[j] = from - moved;
    counts[i] = to + moved;
  }
  return counts;
}

/** Roles in version order: oldest (retired) first, newest (candidates) last. */
function rolesFor(rng: Rng, n: number): ModelRole[] {
  if (n === 0) return [];
  if (n === 1) return [rng.chance(0.95) ? 'baseline' : 'candidate'];
  const hasBaseline = rng.chance(0.95);
  const hasHoldout = n >= 4 && rng.chance(0.35);
  let rest = n - (hasBaseline ? 1 : 0) - (hasHoldout ? 1 : 0);
  const retired = rng.int(0, Math.floor(rest * 0.4));
  rest -= retired;
  const shadow = rest >= 3 && rng.chance(0.3) ? 1 : 0;
  rest -= shadow;
  const candidates = rest >= 2 && rng.chance(0.4) ? rng.int(1, Math.min(2, rest - 1)) : 0;
  rest -= candidates;
  const roles: ModelRole[] = [];
  const push = (role: ModelRole, times: number): void => {
    for (let k = 0; k < times; k++) roles.push(role);
  };
  push('retired', retired);
  push('holdout', hasHoldout ? 1 : 0);
  push('baseline', hasBaseline ? 1 : 0);
  push('experiment', rest);
  push('shadow', shadow);
  push('candidate', candidates);
  return roles;
}

/**
 * Traffic in hundredths, so shares are exact two-decimal numbers: holdout 2-5%, experiments 1-5% each
 * within a 30% budget, the baseline the rest (sometimes leaving a little unassigned).
 */
function sharesFor(rng: Rng, roles: readonly ModelRole[]): number[] {
  const hundredths = roles.map(() => 0);
  let budget = 30;
  let used = 0;
  roles.forEach((role, i) => {
    if (role !== 'holdout' && role !== 'experiment') return;
    const want = role === 'holdout' ? rng.int(2, 5) : rng.int(1, 5);
    const share = Math.min(want, budget);
    budget -= share;
    used += share;
    hundredths[i] = share;
  });
  const baseline = roles.indexOf('baseline');
  if (baseline >= 0) hundredths[baseline] = 100 - used - (rng.chance(0.2) ? rng.int(1, 5) : 0);
  return hundredths.map((h) => h / 100);
}

type Thresholds = NonNullable<ModelInput['thresholds']>;

function thresholdsFor(rng: Rng, tasks: readonly string[], role: ModelRole): Thresholds {
  // A fresh candidate often has no thresholds until its first evaluation.
  if (role === 'candidate' && rng.chance(0.3)) return {};
  const chosen = role === 'experiment' && tasks.length > 1 && rng.chance(0.2) ? rng.sample(tasks, rng.int(1, tasks.length - 1)) : tasks;
  const thresholds: Thresholds = {};
  for (const task of chosen) {
    thresholds[task] = {
      calibration: { min: round(rng.float(0.8, 0.9), 2), max: round(rng.float(1.1, 1.2), 2) },
      neMax: round(rng.float(0.8, 1), 3),
      minPositives: 100,
      source: rng.chance(0.3) ? 'learned' : 'static',
    };
  }
  return thresholds;
}

interface TypeCapacity {
  qps: number;
  replicas: number;
  unitCost: number;
}

function typeCapacity(rng: Rng, type: GeneratedType): TypeCapacity {
  const stage = STAGES[type.stage];
  const replicas = rng.int(stage.replicas[0], stage.replicas[1]);
  return {
    qps: rng.int(stage.qps[0], stage.qps[1]),
    // Apps other than Instagram serve a fraction of the traffic.
    replicas: type.app === 'ig' ? replicas : Math.max(1, Math.round(replicas * 0.3)),
    unitCost: rng.float(stage.unitCost[0], stage.unitCost[1]),
  };
}

function capacityFor(rng: Rng, base: TypeCapacity, role: ModelRole, share: number): ModelInput['capacity'] {
  if (role === 'candidate' && rng.chance(0.4)) return null; // not measured yet
  const maxQpsPerReplica = Math.min(2000, Math.max(50, Math.round(base.qps * rng.float(0.85, 1.15))));
  const unitCost = round(Math.min(4, Math.max(0.5, base.unitCost * rng.float(0.9, 1.1))), 2);
  let replicas: number;
  switch (role) {
    case 'retired':
      replicas = 0; // a retired model has released its replicas
      break;
    case 'baseline':
    case 'holdout':
    case 'experiment':
      replicas = Math.max(1, Math.round(base.replicas * share));
      break;
    case 'shadow':
      replicas = Math.max(1, Math.round(base.replicas * 0.05));
      break;
    case 'candidate':
      replicas = 1;
      break;
  }
  return { maxQpsPerReplica, replicas, unitCost };
}

function assetsFor(rng: Rng, type: string, version: string, role: ModelRole): NonNullable<ModelInput['assets']> {
  const assets: NonNullable<ModelInput['assets']> = [
    { name: 'checkpoint', kind: 'checkpoint', uri: `manifold://models/${type}/${version}/model.pt` },
    { name: 'training-flow', kind: 'training_flow', uri: `flow://f${rng.int(100_000_000, 999_999_999)}` },
  ];
  if (role !== 'retired') assets.push({ name: 'inference', kind: 'inference_service', uri: `service://${type}-${version}` });
  return assets;
}

function lowerTier(rng: Rng, tier: Criticality): Criticality | undefined {
  const rank = criticalityRank(tier);
  if (rank >= Criticality.length - 1) return undefined;
  return Criticality[rng.int(rank + 1, Criticality.length - 1)];
}

function generateModels(rng: Rng, type: GeneratedType, count: number, out: ModelInput[]): void {
  const roles = rolesFor(rng, count);
  const shares = sharesFor(rng, roles);
  const capacity = typeCapacity(rng, type);
  const name = type.input.name;
  let version = rng.int(1, 20);
  roles.forEach((role, i) => {
    const v = `v${version}`;
    version += rng.int(1, 3);
    const share = shares[i] ?? 0;
    const model: ModelInput = {
      id: `${name}:${v}`,
      role,
      trafficShare: share,
      assets: assetsFor(rng, name, v, role),
      thresholds: thresholdsFor(rng, type.tasks, role),
      capacity: capacityFor(rng, capacity, role, share),
    };
    // Some experiments page less than their type: a broken experiment is ended, not escalated.
    if (role === 'experiment' && rng.chance(0.1)) {
      const lowered = lowerTier(rng, type.tier);
      if (lowered) model.criticality = lowered;
    }
    out.push(model);
  });
}

/**
 * Generates a synthetic fleet that is valid registry input: teams, then model types owned by them,
 * then models. Deterministic for a given seed; `models` is met exactly.
 */
export function generateFleet(options: FleetOptions = {}): Fleet {
  const seed = options.seed ?? DEFAULT_FLEET_SEED;
  const total = options.models ?? DEFAULT_FLEET_MODELS;
  if (!Number.isFinite(seed)) throw new RangeError(`fleet seed must be a finite number, got ${seed}`);
  if (!Number.isInteger(total) || total < 0) throw new RangeError(`fleet models must be a non-negative integer, got ${total}`);

  const rng = createRng(seed);
  const typeCount = Math.ceil(total / MODELS_PER_TYPE);
  const types = generateTypes(rng, typeCount);
  const counts = modelCounts(rng, total, typeCount);
  const models: ModelInput[] = [];
  types.forEach((type, i) => generateModels(rng, type, counts[i] ?? 0, models));

  return {
    teams: TEAMS.map((team) => ({ ...team })),
    modelTypes: types.map((t) => t.input),
    models,
  };
}
