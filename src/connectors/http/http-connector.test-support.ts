import { expect } from 'vitest';
import { loadConnectorFromYaml } from '../../../test/support/connector-test-kit.js';
import type { Connector } from '../connector.js';
import type { HttpConnectorContractSetup } from '../connector.contract.js';

/** An http connector instance loaded from connectors.yaml, as in production. */
export function loadHttpConnector(yaml: string, secrets: Record<string, string> = {}): Connector {
  return loadConnectorFromYaml(yaml, { secrets });
}

function threatIntelYaml(baseUrl: string, timeoutMs: number, idempotencyHeader?: string): string {
  return `
connectors:
  threat_intel:
    type: http
    base_url: ${baseUrl}
    headers: { Authorization: "Bearer \${secret:TI_TOKEN}" }
    timeout: ${timeoutMs}ms
    concurrency: 4
${idempotencyHeader ? `    idempotency_header: ${idempotencyHeader}\n` : ''}    actions:
      lookup_ip:
        method: GET
        path: /api/v3/ip_addresses/{ip}
        input: { ip: string }
        output:
          malicious: data.attributes.last_analysis_stats.malicious
          reputation: data.attributes.reputation?
      post_case:
        method: POST
        path: /hooks/{channel}
        input:
          channel: string
          text: { type: string, minLength: 1 }
          severity: { enum: [low, medium, high], optional: true }
        body: { text: text, severity: severity }
`;
}

export function contractSetup(idempotencyHeader?: string): HttpConnectorContractSetup {
  return {
    create: ({ baseUrl, secret, timeoutMs }) =>
      loadHttpConnector(threatIntelYaml(baseUrl, timeoutMs, idempotencyHeader), {
        TI_TOKEN: secret,
      }),
    read: {
      action: 'lookup_ip',
      input: { ip: '203.0.113.7' },
      response: { body: { data: { attributes: { last_analysis_stats: { malicious: 7 } } } } },
      expectRequest: { method: 'GET', path: '/api/v3/ip_addresses/203.0.113.7' },
      expectOutput: { malicious: 7 },
    },
    write: {
      action: 'post_case',
      input: { channel: 'secops', text: 'case #4 contained', severity: 'high' },
      response: { status: 202, body: { ok: true } },
      expectRequest: {
        method: 'POST',
        path: '/hooks/secops',
        body: { text: 'case #4 contained', severity: 'high' },
      },
      expectOutput: { ok: true },
    },
    invalidInput: { action: 'lookup_ip', input: { ip: 42 } },
    expectCredential: (request, secret) => {
      expect(request.headers.authorization).toBe(`Bearer ${secret}`);
    },
    idempotencyHeader,
  };
}
