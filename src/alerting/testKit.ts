/** Registry entries and evaluations shared by the alerting tests. */
import { type IncomingHttpHeaders, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Model } from '../registry/model.js';
import type { ModelType } from '../registry/modelType.js';
import { type ModelEvaluation, evaluateTask, modelStatusOf } from '../stability/evaluation.js';
import type { StabilityMetrics } from '../stability/metrics.js';
import { type AlertSettings, modelUnstableAlert } from './desiredAlerts.js';
import { type Notification, markNotified, reconcileAlerts } from './lifecycle.js';
import { BusinessHoursSchema } from './routing.js';

export const storiesType: ModelType = {
  name: 'ig_stories_tray_mtml',
  description: 'Ranks the stories in the main tray',
  funnelStage: 'late_stage_ranking',
  ownerTeam: 'stories-ranking',
  oncall: { rotation: 'stories-oncall', coverage: '24x7' },
  criticality: 'TIER1',
  criticalityJustification: { businessMetrics: ['daily_active_users'], rationale: '' },
  tasks: [
    { name: 'PLIKE', description: '' },
    { name: 'PCOMMENT', description: '' },
  ],
  baselineModelId: 'ig_stories_tray_mtml:v41',
  holdoutModelId: null,
  extended: {},
  tags: [],
  parsed: { app: 'ig', surface: 'stories', subsurfaces: ['tray'], architecture: 'mtml' },
  pendingApproval: null,
  version: 1,
  createdAt: '2024-01-01T00:00:00.000Z',
  updatedAt: '2024-01-01T00:00:00.000Z',
};

const thresholds = { calibration: { min: 0.9, max: 1.1 }, neMax: 0.95, minPositives: 10, source: 'static' as const };

export const storiesModel = (role: Model['role'], extra: Partial<Model> = {}): Model => ({
  id: role === 'baseline' ? 'ig_stories_tray_mtml:v41' : 'ig_stories_tray_mtml:v42',
  modelType: 'ig_stories_tray_mtml',
  role,
  trafficShare: role === 'baseline' ? 0.95 : 0.05,
  assets: [],
  thresholds: { PLIKE: thresholds, PCOMMENT: thresholds },
  capacity: null,
  extended: {},
  tags: [],
  effectiveCriticality: 'TIER1',
  version: 1,
  createdAt: '2024-01-01T00:00:00.000Z',
  updatedAt: '2024-01-01T00:00:00.000Z',
  ...extra,
});

const metrics = (calibration: number, ne: number): StabilityMetrics => ({ count: 40_000, weight: 40_000, positives: 2_000, ctr: 0.05, calibration, logLoss: 0.2, ne });

/** An evaluation of the model at `at`: PLIKE miscalibrated at 1.31 when unstable, PCOMMENT healthy. */
export function evaluationOf(model: Model, at: Date, unstable = true): ModelEvaluation {
  const tasks = [
    evaluateTask('PLIKE', unstable ? metrics(1.31, 0.9) : metrics(1.01, 0.9), model.thresholds.PLIKE),
    evaluateTask('PCOMMENT', metrics(1.0, 0.8), model.thresholds.PCOMMENT),
  ];
  return { modelId: model.id, at: at.getTime(), windowMinutes: 60, status: modelStatusOf(tasks), tasks };
}

export const settings: AlertSettings = { baseUrl: 'https://modelfleet.example.com/', businessHours: BusinessHoursSchema.parse({}) };

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

/**
 * A real HTTP receiver on an ephemeral port that records every request and answers with
 * `respond(request)` (200 "ok" by default).
 */
export async function startReceiver(respond: (request: ReceivedRequest) => { status: number; body?: string } = () => ({ status: 200, body: 'ok' })) {
  const requests: ReceivedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const request: ReceivedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: text ? JSON.parse(text) : null };
      requests.push(request);
      const answer = respond(request);
      res.writeHead(answer.status, { 'content-type': 'text/plain' });
      res.end(answer.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The notification a newly unstable model of this role raises at `at`. */
export function firingNotification(role: Model['role'], at: Date, extra: Partial<Model> = {}): Notification {
  const model = storiesModel(role, extra);
  const desired = modelUnstableAlert(evaluationOf(model, at), model, storiesType, settings);
  if (!desired) throw new Error('the fixture evaluation should be unstable');
  const [notification] = reconcileAlerts([], [desired], at).notifications;
  if (!notification) throw new Error('a new alert should notify');
  return notification;
}

/** The notification of that alert resolving at `resolvedAt`, after its firing was delivered. */
export function resolvedNotification(firing: Notification, resolvedAt: Date): Notification {
  const [notification] = reconcileAlerts([markNotified(firing.alert, resolvedAt)], [], resolvedAt).notifications;
  if (!notification) throw new Error('a resolve should notify');
  return notification;
}
