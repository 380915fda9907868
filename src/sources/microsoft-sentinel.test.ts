import { afterEach, describe, expect, it, vi } from 'vitest';
import { WardenError } from '../core/errors.js';
import { sentinelSecurityAlertFormat } from './microsoft-sentinel.js';
import { describeSourceFormatContract } from './source-format.contract.js';

/*
 * Rows written from Microsoft's public Azure Monitor Logs reference for the
 * SecurityAlert table (column names and types; `Entities`, `ExtendedProperties`,
 * `Techniques` are dynamic columns that Log Analytics returns as JSON text)
 * and the Sentinel entity schema ("Entity types reference": `Type` ip with
 * `Address`, account with `Name`/`UPNSuffix`, url with `Url`, azure-resource
 * with `ResourceId`). Values are made up; the Defender for Cloud `AlertType`
 * strings are illustrative of its `AI.Azure_*` naming, not copied from a list.
 */

const jailbreakRow = {
  TenantId: '00000000-0000-0000-0000-000000000000',
  TimeGenerated: '2026-11-26T10:06:00.000Z',
  DisplayName: 'Jailbreak attempt on an Azure OpenAI deployment was blocked',
  AlertName: 'Jailbreak attempt on an Azure OpenAI deployment was blocked',
  AlertSeverity: 'High',
  Description: 'Prompt Shields blocked a user prompt attack on deployment gpt-4o-support.',
  ProviderName: 'MDATP',
  VendorName: 'Microsoft',
  ProductName: 'Microsoft Defender for Cloud',
  ProductComponentName: 'AI',
  AlertType: 'AI.Azure_Jailbreak.ContentFiltering.BlockedAlert',
  SystemAlertId: '2f7c9a1e-3b5d-4e6f-8a9b-0c1d2e3f4a5b',
  Status: 'New',
  StartTime: '2026-11-26T10:00:00.000Z',
  EndTime: '2026-11-26T10:05:00.000Z',
  CompromisedEntity: 'contoso-aoai',
  Tactics: 'PrivilegeEscalation, DefenseEvasion',
  Techniques: '["T1548"]',
  SubTechniques: '',
  ExtendedProperties: '{"Detected By":"Prompt Shields","Deployment":"gpt-4o-support"}',
  Entities: JSON.stringify([
    { $id: '2', Name: 'mallory', UPNSuffix: 'contoso.com', AadUserId: 'a1b2', Type: 'account' },
    { $id: '3', Address: '203.0.113.45', Type: 'ip' },
    { $id: '4', Address: '2001:db8::45', Type: 'ip' },
    {
      $id: '5',
      ResourceId:
        '/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/contoso-aoai/deployments/gpt-4o-support',
      Type: 'azure-resource',
    },
    { $id: '6', Url: 'https://chat.contoso.com/session/42', Type: 'url' },
    { $id: '7', HostName: 'web-01', Type: 'host', Account: { $ref: '2' } },
  ]),
  SourceSystem: 'Detection',
  Type: 'SecurityAlert',
};

/** A scheduled analytics rule's alert, its dynamic columns already parsed. */
const scheduledRuleRow = {
  TimeGenerated: '2026-11-26T11:26:03.000Z',
  AlertName: 'Bulk embedding downloads from a new country',
  AlertSeverity: 'low',
  ProviderName: 'ASI Scheduled Alerts',
  VendorName: 'Microsoft',
  ProductName: 'Azure Sentinel',
  AlertType: '11111111-2222-3333-4444-555555555555_aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee',
  SystemAlertId: '9d8c7b6a-5f4e-3d2c-1b0a-998877665544',
  Techniques: ['T1530', 'AML.T0024'],
  SubTechniques: ['AML.T0024.002'],
  Entities: [
    { Name: 'svc-export', Type: 'account' },
    { AadUserId: 'c3d4', Type: 'account' },
    { Address: 'not-an-ip', Type: 'ip' },
  ],
  Type: 'SecurityAlert',
};

/** The fewest columns Warden needs. */
const minimalRow = {
  SystemAlertId: 'a-1',
  AlertName: 'Anomalous sign-in to the ML workspace',
  AlertSeverity: 'Informational',
  TimeGenerated: '2026-11-26T09:00:00Z',
};

function row(fields: Record<string, unknown>): Record<string, unknown> {
  return { ...minimalRow, ...fields };
}

function errorOf(payload: unknown): WardenError {
  try {
    sentinelSecurityAlertFormat.normalize(payload);
  } catch (error) {
    if (error instanceof WardenError) return error;
    throw error;
  }
  throw new Error('expected normalize to throw');
}

const errorCases: Array<[string, unknown, 'missing_field' | 'invalid_field', string]> = [
  ['a non-object payload', 42, 'invalid_field', '(root)'],
  ['no SystemAlertId', row({ SystemAlertId: undefined }), 'missing_field', 'SystemAlertId'],
  ['no AlertSeverity', row({ AlertSeverity: '' }), 'missing_field', 'AlertSeverity'],
  ['an unknown AlertSeverity', row({ AlertSeverity: 'Severe' }), 'invalid_field', 'AlertSeverity'],
  ['neither AlertName nor DisplayName', row({ AlertName: ' ' }), 'missing_field', 'AlertName'],
  ['Entities that are not JSON', row({ Entities: '[{"Type":"ip"' }), 'invalid_field', 'Entities'],
  ['Entities that are an object', row({ Entities: '{"Type":"ip"}' }), 'invalid_field', 'Entities'],
];

describeSourceFormatContract(sentinelSecurityAlertFormat, {
  valid: [jailbreakRow, scheduledRuleRow, minimalRow],
  invalid: errorCases.map(([, payload]) => payload),
});

describe('sentinelSecurityAlertFormat.detect', () => {
  it('needs SystemAlertId, AlertSeverity and a name', () => {
    expect(sentinelSecurityAlertFormat.detect(minimalRow)).toBe(true);
    expect(
      sentinelSecurityAlertFormat.detect({ ...minimalRow, AlertName: undefined, DisplayName: 'x' }),
    ).toBe(true);
    const { AlertSeverity: _severity, ...withoutSeverity } = minimalRow;
    expect(sentinelSecurityAlertFormat.detect(withoutSeverity)).toBe(false);
    expect(sentinelSecurityAlertFormat.detect({ ...minimalRow, SystemAlertId: 7 })).toBe(false);
  });
});

describe('sentinelSecurityAlertFormat.normalize', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('maps a Defender for Cloud AI alert row', () => {
    expect(sentinelSecurityAlertFormat.normalize(jailbreakRow)).toEqual({
      source: {
        format: 'sentinel',
        product: 'Microsoft Defender for Cloud',
        vendor: 'Microsoft',
        uid: '2f7c9a1e-3b5d-4e6f-8a9b-0c1d2e3f4a5b',
      },
      type: 'jailbreak',
      title: 'Jailbreak attempt on an Azure OpenAI deployment was blocked',
      description: 'Prompt Shields blocked a user prompt attack on deployment gpt-4o-support.',
      severityId: 4,
      firstSeen: '2026-11-26T10:00:00.000Z',
      lastSeen: '2026-11-26T10:05:00.000Z',
      count: 1,
      atlasTechniques: ['AML.T0054'],
      observables: {
        ips: ['203.0.113.45', '2001:db8::45'],
        cidrs: [],
        users: ['mallory@contoso.com'],
        apiKeyIds: [],
        sessionIds: [],
        urls: ['https://chat.contoso.com/session/42'],
        model: {
          id: 'gpt-4o-support',
          endpoint:
            '/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/contoso-aoai/deployments/gpt-4o-support',
        },
        toolCalls: [],
      },
      dedupKey: 'sentinel:2f7c9a1e-3b5d-4e6f-8a9b-0c1d2e3f4a5b',
      raw: jailbreakRow,
    });
  });

  it('keeps only ATLAS technique ids, and lets them decide the type', () => {
    const draft = sentinelSecurityAlertFormat.normalize(scheduledRuleRow);
    expect(draft).toMatchObject({
      type: 'data_exfiltration',
      atlasTechniques: ['AML.T0024', 'AML.T0024.002'],
      severityId: 2,
      source: { product: 'Azure Sentinel' },
      observables: { users: ['svc-export', 'c3d4'], ips: [] },
      firstSeen: '2026-11-26T11:26:03.000Z',
    });
  });

  it('reads a comma-separated Techniques column', () => {
    const draft = sentinelSecurityAlertFormat.normalize(row({ Techniques: 'T1078, AML.T0012' }));
    expect(draft.type).toBe('credential_misuse');
    expect(draft.atlasTechniques).toEqual(['AML.T0012']);
  });

  it('infers the type from the alert type when the name says nothing', () => {
    const draft = sentinelSecurityAlertFormat.normalize(
      row({ AlertName: 'Suspicious activity', AlertType: 'AI.Azure_CredentialTheftAttempt' }),
    );
    expect(draft.type).toBe('credential_misuse');
  });

  it('falls back to DisplayName, defaults the product and names an ML endpoint as the model', () => {
    const draft = sentinelSecurityAlertFormat.normalize({
      SystemAlertId: 'a-2',
      DisplayName: 'Unusual request rate',
      AlertSeverity: 'MEDIUM',
      StartTime: '2026-11-26T10:00:00Z',
      Entities: [
        {
          Type: 'azure-resource',
          ResourceId:
            '/subscriptions/1/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws-1/onlineEndpoints/churn-ep',
        },
        {
          Type: 'azure-resource',
          ResourceId:
            '/subscriptions/1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/x',
        },
      ],
    });
    expect(draft).toMatchObject({
      title: 'Unusual request rate',
      type: 'inference_spike',
      severityId: 3,
      source: { product: 'Microsoft Sentinel', vendor: 'Microsoft' },
      firstSeen: '2026-11-26T10:00:00.000Z',
      lastSeen: '2026-11-26T10:00:00.000Z',
      observables: { model: { id: 'churn-ep' } },
    });
    expect(draft.description).toBeUndefined();
  });

  it('reads an account resource of an AI Services account without a deployment', () => {
    const draft = sentinelSecurityAlertFormat.normalize(
      row({
        Entities: [
          {
            Type: 'azure-resource',
            ResourceId:
              '/subscriptions/1/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/contoso-aoai',
          },
        ],
      }),
    );
    expect(draft.observables.model?.id).toBe('contoso-aoai');
  });

  it('stamps a row without times with now', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-11-26T12:00:00Z'));
    const draft = sentinelSecurityAlertFormat.normalize(row({ TimeGenerated: undefined }));
    expect(draft.firstSeen).toBe('2026-11-26T12:00:00.000Z');
    expect(draft.type).toBe('other');
    expect(draft.atlasTechniques).toEqual([]);
  });

  it.each(errorCases)('rejects %s', (_label, payload, code, field) => {
    const error = errorOf(payload);
    expect(error.code).toBe(code);
    expect(error.field).toBe(field);
  });
});
