import { afterEach, describe, expect, it, vi } from 'vitest';
import { WardenError } from '../core/errors.js';
import { guardDutyTypeFromAsffType, securityHubFindingFormat } from './aws-security-hub-asff.js';
import { describeSourceFormatContract } from './source-format.contract.js';

/*
 * Payloads written from AWS's public references: the ASFF syntax and its
 * required and optional top-level attributes (Security Hub User Guide, "AWS
 * Security Finding Format (ASFF)"), the AwsIamAccessKey resource details, and
 * the EventBridge formats "Security Hub Findings - Imported" and "- Custom
 * Action" ("EventBridge event formats for Security Hub CSPM"). GuardDuty ASFF
 * types follow GuardDuty's table "Interpreting GuardDuty finding names in
 * Security Hub"; the AI Protection one is written in the same pattern, as
 * that table does not list it. Values are made up.
 */

const FINDING_ARN =
  'arn:aws:guardduty:us-east-1:123456789012:detector/12abc34d567e8fa901bc2d34e56789f0/finding/5c6d7e8f90a1b2c3d4e5f60718293a4b';

/** A GuardDuty IAM finding as Security Hub stores it. */
const guardDutyCredentialFinding = {
  SchemaVersion: '2018-10-08',
  Id: FINDING_ARN,
  ProductArn: 'arn:aws:securityhub:us-east-1::product/aws/guardduty',
  ProductName: 'GuardDuty',
  CompanyName: 'Amazon',
  GeneratorId: 'arn:aws:guardduty:us-east-1:123456789012:detector/12abc34d567e8fa901bc2d34e56789f0',
  AwsAccountId: '123456789012',
  Region: 'us-east-1',
  Types: ['TTPs/Credential Access/IAMUser-AnomalousBehavior'],
  FirstObservedAt: '2026-11-26T09:51:02.000Z',
  LastObservedAt: '2026-11-26T09:58:44.000Z',
  CreatedAt: '2026-11-26T10:04:12.345Z',
  UpdatedAt: '2026-11-26T10:04:12.345Z',
  Severity: { Label: 'MEDIUM', Normalized: 50, Product: 5 },
  Confidence: 70,
  Title:
    'Credential access API GetSecretValue was invoked by ml-pipeline-role under unusual circumstances.',
  Description:
    'APIs commonly used in CredentialAccess tactics were invoked by AssumedRole ml-pipeline-role.',
  Action: {
    ActionType: 'AWS_API_CALL',
    AwsApiCallAction: {
      Api: 'GetSecretValue',
      ServiceName: 'secretsmanager.amazonaws.com',
      CallerType: 'Remote IP',
      RemoteIpDetails: { IpAddressV4: '198.51.100.23', Country: { CountryName: 'Example' } },
    },
  },
  ProductFields: {
    'aws/securityhub/ProductName': 'GuardDuty',
    'aws/securityhub/CompanyName': 'Amazon',
    'aws/securityhub/FindingId': `arn:aws:securityhub:us-east-1::product/aws/guardduty/${FINDING_ARN}`,
  },
  Resources: [
    {
      Type: 'AwsIamAccessKey',
      Id: 'AWS::IAM::AccessKey:ASIAEXAMPLEKEY000001',
      Partition: 'aws',
      Region: 'us-east-1',
      Details: {
        AwsIamAccessKey: {
          PrincipalId: 'AROAEXAMPLEROLE00001:ml-pipeline',
          PrincipalName: 'ml-pipeline-role',
          PrincipalType: 'AssumedRole',
        },
      },
    },
  ],
  RecordState: 'ACTIVE',
  Workflow: { Status: 'NEW' },
};

/** An AI Protection finding in the EventBridge event Security Hub sends on import. */
const costHarvestingEvent = {
  version: '0',
  id: '6a7b8c9d-0e1f-2a3b-4c5d-6e7f8a9b0c1d',
  'detail-type': 'Security Hub Findings - Imported',
  source: 'aws.securityhub',
  account: '123456789012',
  time: '2026-11-26T10:05:00Z',
  region: 'us-east-1',
  resources: [`arn:aws:securityhub:us-east-1::product/aws/guardduty/${FINDING_ARN}`],
  detail: {
    findings: [
      {
        ...guardDutyCredentialFinding,
        Types: ['TTPs/Impact/Impact:IAMUser-CostHarvesting'],
        Severity: { Label: 'HIGH', Normalized: 80 },
        Title: 'Unusual volume of model invocations may indicate cost harvesting.',
        Resources: [
          ...guardDutyCredentialFinding.Resources,
          {
            Type: 'Other',
            Id: 'arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0',
          },
        ],
      },
    ],
  },
};

/** A third-party product's finding: Normalized severity only, a non-ARN Id. */
const partnerFinding = {
  SchemaVersion: '2018-10-08',
  Id: 'llm-gw-2026-11-26-0007',
  ProductArn: 'arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default',
  GeneratorId: 'llm-gateway-rules/prompt-flood',
  AwsAccountId: '123456789012',
  Types: ['Unusual Behaviors/Application/Request Flood'],
  CreatedAt: '2026-11-26T08:00:00Z',
  UpdatedAt: '2026-11-26T08:10:00Z',
  Severity: { Normalized: 95 },
  Title: 'Request flood against SageMaker endpoint churn-prod',
  Description: 'Requests per second 40x baseline.',
  Network: { Direction: 'IN', SourceIpV4: '203.0.113.5', SourceIpV6: '2001:db8::5' },
  Resources: [
    {
      Type: 'AwsSageMakerEndpoint',
      Id: 'arn:aws:sagemaker:us-east-1:123456789012:endpoint/churn-prod',
    },
  ],
};

const customActionEvent = {
  'detail-type': 'Security Hub Findings - Custom Action',
  source: 'aws.securityhub',
  detail: {
    actionName: 'SendToWarden',
    actionDescription: 'Open a Warden case',
    findings: [partnerFinding],
  },
};

function wrapped(findings: unknown): Record<string, unknown> {
  return {
    'detail-type': 'Security Hub Findings - Imported',
    source: 'aws.securityhub',
    detail: { findings },
  };
}

function finding(fields: Record<string, unknown>): Record<string, unknown> {
  return { ...partnerFinding, ...fields };
}

function errorOf(payload: unknown): WardenError {
  try {
    securityHubFindingFormat.normalize(payload);
  } catch (error) {
    if (error instanceof WardenError) return error;
    throw error;
  }
  throw new Error('expected normalize to throw');
}

const { detail: _detail, ...eventWithoutDetail } = costHarvestingEvent;

const errorCases: Array<[string, unknown, 'missing_field' | 'invalid_field', string]> = [
  ['a non-object payload', [partnerFinding], 'invalid_field', '(root)'],
  ['an event without detail', eventWithoutDetail, 'missing_field', 'detail'],
  [
    'an event without findings',
    { ...eventWithoutDetail, detail: {} },
    'missing_field',
    'detail.findings',
  ],
  ['findings that are no list', wrapped(partnerFinding), 'invalid_field', 'detail.findings'],
  ['an event with no finding', wrapped([]), 'invalid_field', 'detail.findings'],
  [
    'an event with two findings',
    wrapped([partnerFinding, guardDutyCredentialFinding]),
    'invalid_field',
    'detail.findings',
  ],
  ['a finding that is no object', wrapped(['x']), 'invalid_field', 'detail.findings[0]'],
  ['no Id', finding({ Id: undefined }), 'missing_field', 'Id'],
  ['no Title', finding({ Title: '' }), 'missing_field', 'Title'],
  ['no Severity', finding({ Severity: undefined }), 'missing_field', 'Severity.Label'],
  [
    'an unknown label',
    finding({ Severity: { Label: 'SEVERE' } }),
    'invalid_field',
    'Severity.Label',
  ],
  [
    'Normalized above 100',
    finding({ Severity: { Normalized: 101 } }),
    'invalid_field',
    'Severity.Normalized',
  ],
  [
    'a wrapped finding without Title',
    wrapped([finding({ Title: undefined })]),
    'missing_field',
    'detail.findings[0].Title',
  ],
];

describeSourceFormatContract(securityHubFindingFormat, {
  valid: [guardDutyCredentialFinding, costHarvestingEvent, partnerFinding, customActionEvent],
  invalid: errorCases.map(([, payload]) => payload),
});

describe('securityHubFindingFormat.detect', () => {
  it('claims ASFF findings and the Security Hub findings events only', () => {
    expect(securityHubFindingFormat.detect(partnerFinding)).toBe(true);
    expect(securityHubFindingFormat.detect(costHarvestingEvent)).toBe(true);
    expect(
      securityHubFindingFormat.detect({
        ...costHarvestingEvent,
        'detail-type': 'Security Hub Insight Results',
      }),
    ).toBe(false);
    expect(
      securityHubFindingFormat.detect({ ...costHarvestingEvent, source: 'aws.guardduty' }),
    ).toBe(false);
    expect(securityHubFindingFormat.detect({ Id: 'x', ProductArn: 'y' })).toBe(false);
  });
});

describe('securityHubFindingFormat.normalize', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('maps a GuardDuty credential finding with the GuardDuty type mapping', () => {
    expect(securityHubFindingFormat.normalize(guardDutyCredentialFinding)).toEqual({
      source: { format: 'asff', product: 'GuardDuty', vendor: 'Amazon', uid: FINDING_ARN },
      type: 'credential_misuse',
      title: guardDutyCredentialFinding.Title,
      description: guardDutyCredentialFinding.Description,
      severityId: 3,
      confidence: 70,
      firstSeen: '2026-11-26T09:51:02.000Z',
      lastSeen: '2026-11-26T09:58:44.000Z',
      count: 1,
      atlasTechniques: ['AML.T0012'],
      observables: {
        ips: ['198.51.100.23'],
        cidrs: [],
        users: ['ml-pipeline-role'],
        apiKeyIds: ['ASIAEXAMPLEKEY000001'],
        sessionIds: [],
        urls: [],
        toolCalls: [],
      },
      // The GuardDuty finding ARN: the same key the guardduty format uses.
      dedupKey: FINDING_ARN,
      raw: guardDutyCredentialFinding,
    });
  });

  it('unwraps the one finding of an Imported event', () => {
    const draft = securityHubFindingFormat.normalize(costHarvestingEvent);
    expect(draft).toMatchObject({
      type: 'cost_harvesting',
      atlasTechniques: ['AML.T0034'],
      severityId: 4,
      observables: {
        model: {
          id: 'arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0',
        },
      },
    });
    expect(draft.raw).toBe(costHarvestingEvent);
  });

  it('maps a partner finding from a Custom Action event', () => {
    const draft = securityHubFindingFormat.normalize(customActionEvent);
    expect(draft).toMatchObject({
      source: {
        format: 'asff',
        product: 'default',
        vendor: 'unknown',
        uid: 'llm-gw-2026-11-26-0007',
      },
      type: 'other',
      atlasTechniques: [],
      severityId: 5,
      firstSeen: '2026-11-26T08:00:00.000Z',
      lastSeen: '2026-11-26T08:10:00.000Z',
      observables: {
        ips: ['203.0.113.5', '2001:db8::5'],
        model: { id: 'arn:aws:sagemaker:us-east-1:123456789012:endpoint/churn-prod' },
      },
      dedupKey: `${partnerFinding.ProductArn}/llm-gw-2026-11-26-0007`,
    });
    expect(draft.confidence).toBeUndefined();
  });

  it.each([
    [0, 1],
    [1, 2],
    [39, 2],
    [40, 3],
    [69, 3],
    [70, 4],
    [89, 4],
    [90, 5],
    [100, 5],
  ])('reads Severity.Normalized %d as severity id %d', (normalized, id) => {
    expect(
      securityHubFindingFormat.normalize(finding({ Severity: { Normalized: normalized } }))
        .severityId,
    ).toBe(id);
  });

  it('prefers the label, in any case, and reads FindingProviderFields.Severity', () => {
    const labelled = finding({ Severity: { Label: 'critical', Normalized: 10 } });
    expect(securityHubFindingFormat.normalize(labelled).severityId).toBe(5);
    const provider = finding({
      Severity: undefined,
      FindingProviderFields: { Severity: { Label: 'LOW' } },
    });
    expect(securityHubFindingFormat.normalize(provider).severityId).toBe(2);
    expect(
      securityHubFindingFormat.normalize(finding({ Severity: { Label: 'INFORMATIONAL' } }))
        .severityId,
    ).toBe(1);
  });

  it('reads types from FindingProviderFields when Types is absent', () => {
    const draft = securityHubFindingFormat.normalize(
      finding({
        Types: undefined,
        FindingProviderFields: { Types: ['TTPs/Impact/Impact:IAMUser-PromptInjection.Direct'] },
      }),
    );
    expect(draft.type).toBe('prompt_injection');
    expect(draft.atlasTechniques).toEqual(['AML.T0051.000']);
  });

  it('uses the first Types entry that maps to an alert type', () => {
    const draft = securityHubFindingFormat.normalize(
      finding({
        Types: ['Effects/Data Exposure', 'TTPs/Initial Access/IAMUser-AnomalousBehavior'],
      }),
    );
    expect(draft.type).toBe('credential_misuse');
  });

  it('stamps a finding without times with the event time, else now', () => {
    const timeless = finding({ CreatedAt: undefined, UpdatedAt: undefined });
    const fromEvent = securityHubFindingFormat.normalize({
      ...wrapped([timeless]),
      time: '2026-11-26T11:00:00Z',
    });
    expect(fromEvent.firstSeen).toBe('2026-11-26T11:00:00.000Z');
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-11-26T12:00:00Z'));
    expect(securityHubFindingFormat.normalize(timeless).lastSeen).toBe('2026-11-26T12:00:00.000Z');
  });

  it('takes the key id from the details over the resource Id, and IAM user names', () => {
    const draft = securityHubFindingFormat.normalize(
      finding({
        Resources: [
          {
            Type: 'AwsIamAccessKey',
            Id: 'AWS::IAM::AccessKey:AKIAFROMID',
            Details: {
              AwsIamAccessKey: { AccessKeyId: 'AKIAFROMDETAILS', UserName: 'legacy-user' },
            },
          },
          {
            Type: 'AwsIamUser',
            Id: 'arn:aws:iam::123456789012:user/alice',
            Details: { AwsIamUser: { UserName: 'alice' } },
          },
          { Type: 'AwsS3Bucket', Id: 'arn:aws:s3:::training-data' },
        ],
      }),
    );
    expect(draft.observables.apiKeyIds).toEqual(['AKIAFROMDETAILS']);
    expect(draft.observables.users).toEqual(['legacy-user', 'alice']);
    expect(draft.observables.model).toBeUndefined();
  });

  it.each(errorCases)('rejects %s', (_label, payload, code, field) => {
    const error = errorOf(payload);
    expect(error.code).toBe(code);
    expect(error.field).toBe(field);
  });
});

describe('guardDutyTypeFromAsffType', () => {
  it.each([
    [
      'TTPs/Credential Access/IAMUser-AnomalousBehavior',
      'CredentialAccess:IAMUser/AnomalousBehavior',
    ],
    ['TTPs/Initial Access/IAMUser-AnomalousBehavior', 'InitialAccess:IAMUser/AnomalousBehavior'],
    ['TTPs/Command and Control/Backdoor:EC2-C&CActivity.B!DNS', 'Backdoor:EC2/C&CActivity.B!DNS'],
    ['TTPs/PenTest:IAMUser/KaliLinux', 'PenTest:IAMUser/KaliLinux'],
    ['TTPs/Discovery:S3-AnomalousBehavior', 'Discovery:S3/AnomalousBehavior'],
    ['TTPs/AttackSequence:IAM/CompromisedCredentials', 'AttackSequence:IAM/CompromisedCredentials'],
    ['TTPs/Impact/Impact:IAMUser-CostHarvesting', 'Impact:IAMUser/CostHarvesting'],
    ['Software and Configuration Checks/Vulnerabilities/CVE', undefined],
    ['Effects/Data Exposure', undefined],
  ])('reads %s as %s', (asffType, findingType) => {
    expect(guardDutyTypeFromAsffType(asffType)).toBe(findingType);
  });
});
