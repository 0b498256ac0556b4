import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_BUSINESS_HOURS, severityFor } from '../../alerting/routing.js';
import { Criticality } from '../../registry/vocabulary.js';
import { Severity } from '../../alerting/alert.js';
import { LOUDEST_SEVERITY, generatedSeverity } from './alertSeverity.js';

test('generated severities agree with the server routing within business hours, for every tier and request', () => {
  const wednesdayNoonUtc = new Date('2026-11-25T12:00:00Z');
  for (const tier of Criticality) {
    for (const requested of Severity) {
      assert.equal(generatedSeverity(tier, requested), severityFor(tier, requested, wednesdayNoonUtc, DEFAULT_BUSINESS_HOURS).severity, `${tier} asking for ${requested}`);
    }
  }
  assert.deepEqual(LOUDEST_SEVERITY, { TIER0: 'page', TIER1: 'page', TIER2: 'page', TIER3: 'ticket', TIER4: 'heads_up' });
});
