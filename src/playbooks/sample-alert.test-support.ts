import type { NormalizedAlert } from '../core/alert.js';

/** An inference spike on the demo's tier-1 churn model, as ingest would have stored it. */
export function sampleSpikeAlert(): NormalizedAlert {
  return {
    id: 'a1',
    source: { format: 'native', product: 'gateway', vendor: 'acme' },
    type: 'inference_spike',
    title: 'Request volume 500% above baseline',
    severityId: 3,
    severity: 'Medium',
    firstSeen: '2026-01-05T10:00:00.000Z',
    lastSeen: '2026-01-05T10:00:00.000Z',
    receivedAt: '2026-01-05T10:00:01.000Z',
    count: 1,
    observables: {
      ips: ['203.0.113.7'],
      cidrs: [],
      users: [],
      apiKeyIds: [],
      sessionIds: [],
      urls: [],
      model: { id: 'customer-churn' },
      toolCalls: [],
    },
    atlasTechniques: [],
    dedupKey: 'k',
    enrichment: {
      modelId: 'customer-churn',
      modelName: 'Customer Churn Prediction',
      tier: 1,
      blastRadius: [],
      allowlisted: [],
    },
    raw: {},
  };
}
