import { readFileSync } from 'node:fs';

/**
 * The labeled predictions computed with scikit-learn in ../shared/fixtures/stability: several models
 * and tasks over five minutes, with the expected calibration and NE beside them.
 */
export const FIXTURES = new URL('../../../shared/fixtures/stability/', import.meta.url);
export const fixtureText = readFileSync(new URL('events.ndjson', FIXTURES), 'utf8');
export const fixtureLines = fixtureText.split('\n').filter((l) => l.trim());
/** Just after the fixture's last event, so all of it is within the allowed lateness. */
export const FIXTURE_NOW = 1764065100000 + 60_000;

/** The fixture's teams, types and models, registered with the tasks the events use. */
export const fixtureFleet = (() => {
  const tasksByType = new Map<string, Set<string>>();
  const models = new Set<string>();
  for (const line of fixtureLines) {
    const e = JSON.parse(line) as { model: string; task: string };
    models.add(e.model);
    const type = e.model.split(':')[0]!;
    (tasksByType.get(type) ?? tasksByType.set(type, new Set()).get(type)!).add(e.task);
  }
  return {
    teams: [{ name: 'ranking', description: 'ranking team', oncallRotation: 'ranking-oncall' }],
    modelTypes: [...tasksByType].map(([name, tasks]) => ({
      name,
      description: `ranks ${name}`,
      funnelStage: 'late_stage_ranking',
      ownerTeam: 'ranking',
      oncall: { rotation: 'ranking-oncall', coverage: 'business_hours' },
      criticality: 'TIER2',
      tasks: [...tasks].map((t) => ({ name: t })),
    })),
    models: [...models].map((id) => ({ id, role: 'experiment', trafficShare: 0.1 })),
  };
})();
