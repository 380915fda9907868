import { afterEach, describe, expect, it, vi } from 'vitest';
import { WardenError } from '../core/errors.js';
import {
  classifyGuardDutyFindingType,
  guardDutyFindingFormat,
  severityIdFromGuardDutyScore,
} from './aws-guardduty.js';
import { describeSourceFormatContract } from './source-format.contract.js';

/*
 * Payloads written from AWS's public references: the EventBridge event for
 * GuardDuty ("GuardDuty Finding", GuardDuty User Guide, "Creating custom
 * responses to GuardDuty findings with Amazon EventBridge") and the GuardDuty
 * API Reference `Finding` shape (Resource, AccessKeyDetails, ModelDetail,
 * BedrockGuardrailDetails, Service, Action, RemoteIpDetails). AI Protection
 * finding types per "GuardDuty AI Protection finding types". Values are made up.
 */

const ARN_PREFIX =
  'arn:aws:guardduty:us-east-1:123456789012:detector/12abc34d567e8fa901bc2d34e56789f0/finding/';

const costHarvestingFinding = {
  schemaVersion: '2.0',
  accountId: '123456789012',
  region: 'us-east-1',
  partition: 'aws',
  id: '7ec8b1f2a3d4e5f60718293a4b5c6d7e',
  arn: `${ARN_PREFIX}7ec8b1f2a3d4e5f60718293a4b5c6d7e`,
  type: 'Impact:IAMUser/CostHarvesting',
  resource: {
    resourceType: 'AccessKey',
    accessKeyDetails: {
      accessKeyId: 'ASIAEXAMPLEKEY000042',
      principalId: 'AROAEXAMPLEROLE00042:chat-backend',
      userName: 'chat-backend',
      userType: 'AssumedRole',
    },
    modelDetails: [
      { modelId: 'anthropic.claude-3-5-sonnet-20240620-v1:0' },
      { modelId: 'amazon.titan-text-express-v1' },
    ],
  },
  service: {
    serviceName: 'guardduty',
    detectorId: '12abc34d567e8fa901bc2d34e56789f0',
    action: {
      actionType: 'AWS_API_CALL',
      awsApiCallAction: {
        api: 'InvokeModel',
        serviceName: 'bedrock.amazonaws.com',
        callerType: 'Remote IP',
        remoteIpDetails: { ipAddressV4: '203.0.113.77', country: { countryName: 'Example' } },
      },
    },
    resourceRole: 'TARGET',
    eventFirstSeen: '2026-11-26T09:00:00.000Z',
    eventLastSeen: '2026-11-26T09:45:00.000Z',
    archived: false,
    count: 14,
  },
  severity: 8.0,
  createdAt: '2026-11-26T09:50:00.000Z',
  updatedAt: '2026-11-26T09:50:00.000Z',
  title: 'Unusual volume of model invocations by chat-backend may indicate cost harvesting.',
  description:
    'The principal chat-backend invoked Bedrock models at a rate far above its baseline.',
};

const costHarvestingEvent = {
  version: '0',
  id: '0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0',
  'detail-type': 'GuardDuty Finding',
  source: 'aws.guardduty',
  account: '123456789012',
  time: '2026-11-26T09:50:05Z',
  region: 'us-east-1',
  resources: [],
  detail: costHarvestingFinding,
};

/** GetFindings output for one finding, without the EventBridge envelope. */
const promptInjectionFinding = {
  schemaVersion: '2.0',
  accountId: '123456789012',
  region: 'us-east-1',
  id: '1f2e3d4c5b6a79881726354453627180',
  arn: `${ARN_PREFIX}1f2e3d4c5b6a79881726354453627180`,
  type: 'Impact:IAMUser/PromptInjection.Direct',
  resource: {
    resourceType: 'AccessKey',
    accessKeyDetails: {
      accessKeyId: 'AKIAEXAMPLEKEY000007',
      userName: 'support-bot',
      userType: 'IAMUser',
    },
    bedrockGuardrailDetails: {
      guardrailAction: 'GUARDRAIL_INTERVENED',
      guardrailSource: 'INPUT',
      guardrails: [
        { arn: 'arn:aws:bedrock:us-east-1:123456789012:guardrail/abc123def456', version: '3' },
      ],
    },
  },
  service: {
    action: {
      actionType: 'AWS_API_CALL',
      awsApiCallAction: {
        api: 'Converse',
        remoteIpDetails: { ipAddressV4: '198.51.100.9' },
      },
    },
    eventFirstSeen: '2026-11-26T10:00:00.000Z',
    eventLastSeen: '2026-11-26T10:00:00.000Z',
    count: 1,
  },
  severity: 5.5,
  createdAt: '2026-11-26T10:01:00.000Z',
  updatedAt: '2026-11-26T10:01:00.000Z',
  title: 'A Bedrock guardrail blocked a prompt attack from support-bot.',
};

/** An EC2 finding with network and port-probe actions: not an AI or credential finding. */
const portProbeEvent = {
  'detail-type': 'GuardDuty Finding',
  source: 'aws.guardduty',
  time: '2026-11-26T08:00:00Z',
  detail: {
    id: 'aa00bb11cc22dd33ee44ff5566778899',
    arn: `${ARN_PREFIX}aa00bb11cc22dd33ee44ff5566778899`,
    type: 'Recon:EC2/PortProbeUnprotectedPort',
    resource: { resourceType: 'Instance', instanceDetails: { instanceId: 'i-0abc' } },
    service: {
      action: {
        actionType: 'PORT_PROBE',
        portProbeAction: {
          blocked: false,
          portProbeDetails: [
            { localPortDetails: { port: 22 }, remoteIpDetails: { ipAddressV4: '192.0.2.10' } },
            { localPortDetails: { port: 22 }, remoteIpDetails: { ipAddressV4: '192.0.2.11' } },
            { remoteIpDetails: { ipAddressV4: '192.0.2.10' } },
          ],
        },
        networkConnectionAction: { remoteIpDetails: { ipAddressV6: '2001:db8::10' } },
      },
    },
    severity: 2,
    createdAt: '2026-11-26T07:00:00.000Z',
    updatedAt: '2026-11-26T07:30:00.000Z',
  },
};

function event(detail: Record<string, unknown>): Record<string, unknown> {
  return { 'detail-type': 'GuardDuty Finding', source: 'aws.guardduty', detail };
}

function finding(fields: Record<string, unknown>): Record<string, unknown> {
  return event({
    id: 'f1',
    type: 'Impact:IAMUser/AnomalousModelInvocation',
    severity: 5,
    ...fields,
  });
}

function errorOf(payload: unknown): WardenError {
  try {
    guardDutyFindingFormat.normalize(payload);
  } catch (error) {
    if (error instanceof WardenError) return error;
    throw error;
  }
  throw new Error('expected normalize to throw');
}

const { severity: _severity, ...withoutSeverity } = promptInjectionFinding;
const { detail: _detail, ...eventWithoutDetail } = costHarvestingEvent;

const errorCases: Array<[string, unknown, 'missing_field' | 'invalid_field', string]> = [
  ['a non-object payload', 'GuardDuty Finding', 'invalid_field', '(root)'],
  ['an event without detail', eventWithoutDetail, 'missing_field', 'detail'],
  [
    'an event whose detail is a list',
    event([] as unknown as Record<string, unknown>),
    'invalid_field',
    'detail',
  ],
  ['no finding id', finding({ id: undefined }), 'missing_field', 'detail.id'],
  ['a blank finding type', finding({ type: ' ' }), 'missing_field', 'detail.type'],
  ['no severity', finding({ severity: undefined }), 'missing_field', 'detail.severity'],
  ['severity above 10', finding({ severity: 11 }), 'invalid_field', 'detail.severity'],
  ['severity as text', finding({ severity: '8.0' }), 'invalid_field', 'detail.severity'],
  ['a bare finding without severity', withoutSeverity, 'missing_field', 'severity'],
];

describeSourceFormatContract(guardDutyFindingFormat, {
  valid: [costHarvestingEvent, promptInjectionFinding, portProbeEvent, finding({})],
  invalid: errorCases.map(([, payload]) => payload),
});

describe('guardDutyFindingFormat.detect', () => {
  it('claims the EventBridge event and the bare finding only', () => {
    expect(guardDutyFindingFormat.detect(costHarvestingEvent)).toBe(true);
    expect(guardDutyFindingFormat.detect(promptInjectionFinding)).toBe(true);
    expect(
      guardDutyFindingFormat.detect({ ...costHarvestingEvent, source: 'aws.securityhub' }),
    ).toBe(false);
    expect(
      guardDutyFindingFormat.detect({
        ...costHarvestingEvent,
        'detail-type': 'GuardDuty Malware Protection Object Scan Result',
      }),
    ).toBe(false);
    expect(
      guardDutyFindingFormat.detect({
        ...promptInjectionFinding,
        arn: 'arn:aws:securityhub:us-east-1::product/aws/guardduty',
      }),
    ).toBe(false);
  });
});

describe('guardDutyFindingFormat.normalize', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('maps an AI Protection cost-harvesting finding from EventBridge', () => {
    expect(guardDutyFindingFormat.normalize(costHarvestingEvent)).toEqual({
      source: {
        format: 'guardduty',
        product: 'GuardDuty',
        vendor: 'Amazon',
        uid: '7ec8b1f2a3d4e5f60718293a4b5c6d7e',
      },
      type: 'cost_harvesting',
      title: 'Unusual volume of model invocations by chat-backend may indicate cost harvesting.',
      description:
        'The principal chat-backend invoked Bedrock models at a rate far above its baseline.',
      severityId: 4,
      firstSeen: '2026-11-26T09:00:00.000Z',
      lastSeen: '2026-11-26T09:45:00.000Z',
      count: 14,
      countIsTotal: true,
      atlasTechniques: ['AML.T0034'],
      observables: {
        ips: ['203.0.113.77'],
        cidrs: [],
        users: ['chat-backend'],
        apiKeyIds: ['ASIAEXAMPLEKEY000042'],
        sessionIds: [],
        urls: [],
        model: { id: 'anthropic.claude-3-5-sonnet-20240620-v1:0' },
        toolCalls: [],
      },
      dedupKey: `${ARN_PREFIX}7ec8b1f2a3d4e5f60718293a4b5c6d7e`,
      raw: costHarvestingEvent,
    });
  });

  it('maps a bare prompt-injection finding, taking the guardrail as the model', () => {
    const draft = guardDutyFindingFormat.normalize(promptInjectionFinding);
    expect(draft).toMatchObject({
      type: 'prompt_injection',
      atlasTechniques: ['AML.T0051.000'],
      severityId: 3,
      observables: {
        ips: ['198.51.100.9'],
        users: ['support-bot'],
        apiKeyIds: ['AKIAEXAMPLEKEY000007'],
        model: {
          id: 'arn:aws:bedrock:us-east-1:123456789012:guardrail/abc123def456',
          version: '3',
        },
      },
    });
    expect(draft.description).toBeUndefined();
  });

  it('reads the deprecated single guardrail fields', () => {
    const draft = guardDutyFindingFormat.normalize(
      finding({
        resource: {
          bedrockGuardrailDetails: {
            guardrailArn: 'arn:aws:bedrock:us-east-1:123456789012:guardrail/old1',
            guardrailVersion: 'DRAFT',
          },
        },
      }),
    );
    expect(draft.observables.model).toEqual({
      id: 'arn:aws:bedrock:us-east-1:123456789012:guardrail/old1',
      version: 'DRAFT',
    });
  });

  it('collects remote addresses of every action kind, once each', () => {
    const draft = guardDutyFindingFormat.normalize(portProbeEvent);
    expect(draft.type).toBe('other');
    expect(draft.atlasTechniques).toEqual([]);
    expect(draft.observables.ips).toEqual(['2001:db8::10', '192.0.2.10', '192.0.2.11']);
    expect(draft.severityId).toBe(2);
  });

  it('falls back to createdAt/updatedAt, then the event time, then now', () => {
    const fromFinding = guardDutyFindingFormat.normalize(portProbeEvent);
    expect([fromFinding.firstSeen, fromFinding.lastSeen]).toEqual([
      '2026-11-26T07:00:00.000Z',
      '2026-11-26T07:30:00.000Z',
    ]);
    const fromEvent = guardDutyFindingFormat.normalize({
      ...finding({}),
      time: '2026-11-26T11:00:00Z',
    });
    expect([fromEvent.firstSeen, fromEvent.lastSeen]).toEqual([
      '2026-11-26T11:00:00.000Z',
      '2026-11-26T11:00:00.000Z',
    ]);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-11-26T12:00:00Z'));
    expect(guardDutyFindingFormat.normalize(finding({})).firstSeen).toBe(
      '2026-11-26T12:00:00.000Z',
    );
  });

  it('keys on the finding id when the finding has no ARN, and ignores odd optional fields', () => {
    const draft = guardDutyFindingFormat.normalize(
      finding({
        title: 7,
        service: {
          count: 0,
          action: { awsApiCallAction: { remoteIpDetails: { ipAddressV4: 'gateway' } } },
        },
        resource: { accessKeyDetails: 'x', modelDetails: [null, { modelId: '' }] },
      }),
    );
    expect(draft.dedupKey).toBe('guardduty:f1');
    expect(draft.title).toBe('Impact:IAMUser/AnomalousModelInvocation');
    expect(draft.count).toBe(1);
    expect(draft.observables).toEqual({
      ips: [],
      cidrs: [],
      users: [],
      apiKeyIds: [],
      sessionIds: [],
      urls: [],
      toolCalls: [],
    });
  });

  it.each(errorCases)('rejects %s', (_label, payload, code, field) => {
    const error = errorOf(payload);
    expect(error.code).toBe(code);
    expect(error.field).toBe(field);
  });
});

describe('classifyGuardDutyFindingType', () => {
  it.each([
    ['Impact:IAMUser/AnomalousModelInvocation', 'inference_spike', ['AML.T0040']],
    ['Impact:IAMUser/CostHarvesting', 'cost_harvesting', ['AML.T0034']],
    ['Impact:IAMUser/PromptInjection.Direct', 'prompt_injection', ['AML.T0051.000']],
    ['Impact:IAMUser/PromptInjection.Indirect', 'prompt_injection', ['AML.T0051.001']],
    ['Impact:IAMUser/PromptInjection', 'prompt_injection', ['AML.T0051']],
    ['CredentialAccess:IAMUser/AnomalousBehavior', 'credential_misuse', []],
    ['InitialAccess:IAMUser/AnomalousBehavior', 'credential_misuse', []],
    [
      'UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS',
      'credential_misuse',
      [],
    ],
    ['UnauthorizedAccess:IAMUser/ConsoleLoginSuccess.B', 'credential_misuse', []],
    ['CredentialAccess:Kubernetes/MaliciousIPCaller.Custom', 'credential_misuse', []],
    ['PenTest:IAMUser/KaliLinux', 'credential_misuse', []],
    ['AttackSequence:IAM/CompromisedCredentials', 'credential_misuse', []],
    ['Backdoor:EC2/C&CActivity.B!DNS', 'other', []],
    ['Exfiltration:S3/AnomalousBehavior', 'other', []],
    ['not a finding type', 'other', []],
  ])('maps %s to %s', (findingType, type, atlasTechniques) => {
    expect(classifyGuardDutyFindingType(findingType)).toEqual({ type, atlasTechniques });
  });

  it('gives credential findings the alert type’s default techniques', () => {
    const draft = guardDutyFindingFormat.normalize(
      finding({ type: 'CredentialAccess:IAMUser/AnomalousBehavior' }),
    );
    expect(draft.atlasTechniques).toEqual(['AML.T0012']);
  });
});

describe('severityIdFromGuardDutyScore', () => {
  it.each([
    [0, 1],
    [0.9, 1],
    [1, 2],
    [3.9, 2],
    [4, 3],
    [6.9, 3],
    [7, 4],
    [8.9, 4],
    [9, 5],
    [10, 5],
  ])('reads score %d as severity id %d', (score, id) => {
    expect(severityIdFromGuardDutyScore(score)).toBe(id);
  });
});
