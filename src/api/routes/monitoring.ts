import { z } from 'zod';
import { CoverageGapKind } from '../../monitoring/coverage.js';
import type { MonitoringBundleService } from '../../monitoring/generate/monitoringBundle.js';
import { named, type ApiRoutes } from '../openapi.js';

const FileEntrySchema = z.object({
  path: z.string().describe('relative path, e.g. prometheus/rules.yml'),
  contentType: z.string(),
  sha256: z.string().describe('hex sha256 of the content; also the ETag of GET /monitoring/files/{dir}/{name}'),
  bytes: z.number().int(),
  url: z.string().describe('where to fetch it, relative to the server'),
});
const MonitoringFilesSchema = named(
  z.object({
    seq: z.number().int().describe('the registry change sequence number the files were generated from'),
    hash: z.string().describe('changes exactly when some file does'),
    files: z.array(FileEntrySchema),
  }),
  'MonitoringFiles',
);

const CoverageSchema = named(
  z.object({
    seq: z.number().int(),
    models: z.number().int().describe('live models that must be covered'),
    covered: z.number().int(),
    gaps: z.array(
      z.object({
        kind: z.enum(CoverageGapKind),
        model: z.string(),
        modelType: z.string(),
        tier: z.string(),
        team: z.string(),
        role: z.string(),
        message: z.string(),
        fix: z.string(),
      }),
    ),
    notes: z.array(z.string()),
  }),
  'MonitoringCoverage',
);

const FileParams = z.object({ dir: z.string().describe('prometheus, alertmanager or grafana'), name: z.string().describe('e.g. rules.yml') });

/** The monitoring generated from the registry (Prometheus rules, Alertmanager config, Grafana dashboards) and its coverage; any token may read. */
export function registerMonitoringRoutes(routes: ApiRoutes, monitoring: MonitoringBundleService): void {
  routes.add(
    { method: 'get', path: '/monitoring/files', summary: 'The generated monitoring files with their hashes', tag: 'monitoring', responses: { 200: { description: 'files', schema: MonitoringFilesSchema } } },
    async (c) => {
      const bundle = await monitoring.bundle();
      return c.json({
        seq: bundle.seq,
        hash: bundle.hash,
        files: bundle.files.map(({ content: _content, ...f }) => ({ ...f, url: `/api/v1/monitoring/files/${f.path}` })),
      });
    },
  );
  routes.add(
    {
      method: 'get',
      path: '/monitoring/files/{dir}/{name}',
      summary: 'One generated file (YAML or JSON), e.g. prometheus/rules.yml; ETag is its sha256 and If-None-Match answers 304',
      tag: 'monitoring',
      params: FileParams,
      responses: { 200: { description: 'the file' } },
    },
    async (c) => {
      const file = await monitoring.file(`${c.req.param('dir')}/${c.req.param('name')}`);
      const etag = `"${file.sha256}"`;
      const headers = { etag, 'cache-control': 'no-cache' };
      if (c.req.header('if-none-match')?.split(/\s*,\s*/).includes(etag)) return c.body(null, 304, headers);
      return c.body(file.content, 200, { ...headers, 'content-type': file.contentType });
    },
  );
  routes.add(
    {
      method: 'get',
      path: '/monitoring/coverage',
      summary: 'Live models missing thresholds, alert routing or owner on-call, each with what to fix',
      tag: 'monitoring',
      responses: { 200: { description: 'coverage', schema: CoverageSchema } },
    },
    async (c) => c.json(await monitoring.coverage()),
  );
}
