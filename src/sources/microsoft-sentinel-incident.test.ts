import { describe, expect, it } from 'vitest';
import { sentinelIncidentFormat } from './microsoft-sentinel-incident.js';
import { describeSourceFormatContract } from './source-format.contract.js';

/**
 * Rows shaped after the Microsoft Sentinel `SecurityIncident` table reference
 * (Azure Monitor Logs): IncidentName, IncidentNumber, Title, Severity,
 * FirstActivityTime/LastActivityTime, AdditionalData as JSON text or parsed.
 * Values are made up.
 */
const incident = {
  TenantId: '00000000-0000-0000-0000-000000000001',
  TimeGenerated: '2026-11-26T10:10:00Z',
  IncidentName: '7e0c8a3b-2f5c-4b6e-9a51-3c2d1e0f9a77',
  IncidentNumber: 4211,
  Title: 'Prompt injection attempts against the support assistant',
  Description: 'Several prompt shield detections from one session.',
  Severity: 'High',
  Status: 'New',
  ProviderName: 'Azure Sentinel',
  FirstActivityTime: '2026-11-26T09:55:00Z',
  LastActivityTime: '2026-11-26T10:05:00Z',
  CreatedTime: '2026-11-26T10:06:00Z',
  AlertIds: '["a1","a2","a3"]',
  Labels: '[{"labelName":"genai","labelType":"User"}]',
  AdditionalData: JSON.stringify({
    alertsCount: 3,
    tactics: ['InitialAccess'],
    techniques: ['T1190', 'AML.T0051.000'],
    alertProductNames: ['Azure Sentinel'],
  }),
  Type: 'SecurityIncident',
};

const parsedAdditional = {
  ...incident,
  IncidentName: 'b3c1d2e4-0000-4000-8000-000000000002',
  Title: 'Cost harvesting on a model endpoint',
  Severity: 'Medium',
  AdditionalData: { alertsCount: 1, techniques: [] },
};

describeSourceFormatContract(sentinelIncidentFormat, {
  valid: [incident, parsedAdditional],
  invalid: [
    { ...incident, Title: undefined },
    { ...incident, Severity: 'Severe' },
    { ...incident, IncidentName: '' },
  ],
});

describe('Sentinel SecurityIncident mapping', () => {
  it('maps the incident: ATLAS technique → type, severity, times, running alert count, dedup key', () => {
    const draft = sentinelIncidentFormat.normalize(incident);
    expect(draft).toMatchObject({
      type: 'prompt_injection',
      title: 'Prompt injection attempts against the support assistant (incident 4211)',
      severityId: 4,
      firstSeen: '2026-11-26T09:55:00.000Z',
      lastSeen: '2026-11-26T10:05:00.000Z',
      count: 3,
      countIsTotal: true,
      dedupKey: 'sentinel-incident:7e0c8a3b-2f5c-4b6e-9a51-3c2d1e0f9a77',
      source: { format: 'sentinel-incident', product: 'Azure Sentinel', vendor: 'Microsoft' },
    });
    expect(draft.atlasTechniques).toEqual(['AML.T0051.000']);
  });

  it('reads the type from words when no ATLAS technique is named, and takes the sender context', () => {
    const draft = sentinelIncidentFormat.normalize(parsedAdditional, {
      model: 'customer-churn',
      user: 'svc-batch',
    });
    expect(draft.type).toBe('cost_harvesting');
    expect(draft.count).toBe(1);
    expect(draft.observables.model).toEqual({ id: 'customer-churn' });
    expect(draft.observables.users).toEqual(['svc-batch']);
  });

  it('is not claimed by a SecurityAlert row, and does not claim one', () => {
    expect(
      sentinelIncidentFormat.detect({
        SystemAlertId: 'x',
        AlertName: 'y',
        AlertSeverity: 'High',
      }),
    ).toBe(false);
  });
});
