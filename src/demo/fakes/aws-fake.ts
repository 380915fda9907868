import {
  EC2_API_VERSION,
  IAM_API_VERSION,
  ec2Error,
  ec2Items,
  ec2Response,
  iamError,
  iamResponse,
  listAccessKeysResponse,
  networkAclItem,
  securityGroupRuleItem,
  xmlFields,
  type AccessKeyXml,
  type NetworkAclEntryXml,
  type XmlReply,
} from '../../connectors/aws/aws-query-xml.js';
import { parseIpRange } from '../../connectors/aws/ip-ranges.js';
import type {
  FakeReply,
  FakeRequest,
  RecordAction,
  VendorFake,
  VendorFakeFactory,
} from '../vendor-fake.js';

/**
 * The demo's AWS: EC2 (one VPC network ACL and one security group) and IAM
 * (the demo estate's users and their access keys) behind one AWS Query
 * protocol endpoint, `http://127.0.0.1:8089/aws` for both services; the
 * request's `Action` (and API `Version`) picks the operation. It answers
 * the calls the aws_ec2 and aws_iam connectors make, with EC2's and IAM's
 * XML, remembers every deny and key change, and records them for the demo.
 * It requires a SigV4 Authorization header but does not check the
 * signature: any demo credentials work.
 */

export const AWS_FAKE_PREFIX = '/aws';
export const DEMO_NETWORK_ACL_ID = 'acl-0demo0000000000001';
export const DEMO_SECURITY_GROUP_ID = 'sg-0demo0000000000001';
const DEMO_VPC_ID = 'vpc-0demo0000000000001';
const ACCOUNT = '123456789012';

interface GroupRule {
  id: string;
  isEgress: boolean;
  protocol: string;
  fromPort: number;
  toPort: number;
  cidrIpv4?: string;
  cidrIpv6?: string;
  description?: string;
}

interface AccessKey extends AccessKeyXml {
  status: 'Active' | 'Inactive';
  readonly lastUsed?: { at: string; service: string; region: string };
}

/** The demo estate's people and service accounts (see examples/demo/playbooks). */
function demoUsers(): Map<string, AccessKey[]> {
  return new Map<string, AccessKey[]>([
    [
      'contractor-42',
      [
        {
          id: 'AKIADEMOCONTRACTOR42',
          status: 'Active',
          created: '2025-01-06T09:12:44Z',
          lastUsed: { at: '2025-03-01T11:58:00Z', service: 's3', region: 'eu-west-1' },
        },
        { id: 'AKIADEMOCONTRACTOR4B', status: 'Inactive', created: '2024-06-17T14:03:10Z' },
      ],
    ],
    [
      'etl-svc',
      [
        {
          id: 'AKIADEMOETLSVC000001',
          status: 'Active',
          created: '2024-09-30T07:45:00Z',
          lastUsed: { at: '2025-03-01T06:00:12Z', service: 's3', region: 'eu-west-1' },
        },
      ],
    ],
    [
      'ml-pipeline',
      [
        {
          id: 'AKIADEMOMLPIPELINE01',
          status: 'Active',
          created: '2024-11-21T16:20:31Z',
          lastUsed: { at: '2025-03-01T10:41:27Z', service: 'sagemaker', region: 'eu-west-1' },
        },
        { id: 'AKIADEMOMLPIPELINE02', status: 'Inactive', created: '2023-11-02T08:00:00Z' },
      ],
    ],
  ]);
}

export const createAwsFake: VendorFakeFactory = (record: RecordAction): VendorFake => {
  const acls = new Map<string, { vpcId: string; entries: NetworkAclEntryXml[] }>([
    [
      DEMO_NETWORK_ACL_ID,
      {
        vpcId: DEMO_VPC_ID,
        entries: [false, true].flatMap((egress) => [
          {
            ruleNumber: 100,
            protocol: '-1',
            ruleAction: 'allow' as const,
            egress,
            cidrBlock: '0.0.0.0/0',
          },
          {
            ruleNumber: 32767,
            protocol: '-1',
            ruleAction: 'deny' as const,
            egress,
            cidrBlock: '0.0.0.0/0',
          },
        ]),
      },
    ],
  ]);
  const groups = new Map<string, GroupRule[]>([
    [
      DEMO_SECURITY_GROUP_ID,
      [
        {
          id: 'sgr-0demo00000000001',
          isEgress: false,
          protocol: 'tcp',
          fromPort: 443,
          toPort: 443,
          cidrIpv4: '0.0.0.0/0',
          description: 'inference gateway',
        },
        {
          id: 'sgr-0demo00000000002',
          isEgress: false,
          protocol: 'tcp',
          fromPort: 22,
          toPort: 22,
          cidrIpv4: '203.0.113.0/24',
          description: 'vendor support access',
        },
        {
          id: 'sgr-0demo00000000003',
          isEgress: true,
          protocol: '-1',
          fromPort: -1,
          toPort: -1,
          cidrIpv4: '0.0.0.0/0',
        },
      ],
    ],
  ]);
  const users = demoUsers();
  let requests = 0;
  const requestId = (): string => {
    requests += 1;
    return `demo-${String(requests).padStart(8, '0')}-0000-4000-8000-000000000000`;
  };

  const ec2 = (action: string, params: URLSearchParams): XmlReply => {
    const id = requestId();
    const fail = (code: string, message: string): XmlReply => ec2Error(400, code, message, id);
    const noAcl = (aclId: string): XmlReply =>
      fail('InvalidNetworkAclID.NotFound', `The networkAcl ID '${aclId}' does not exist`);
    switch (action) {
      case 'DescribeNetworkAcls': {
        const wanted = listParam(params, 'NetworkAclId');
        const missing = wanted.find((aclId) => !acls.has(aclId));
        if (missing) return noAcl(missing);
        const shown = [...acls].filter(([aclId]) => wanted.length === 0 || wanted.includes(aclId));
        const items = shown.map(([aclId, acl]) =>
          networkAclItem({
            id: aclId,
            vpcId: acl.vpcId,
            isDefault: true,
            ownerId: ACCOUNT,
            entries: acl.entries,
          }),
        );
        return ec2Response(action, id, `<networkAclSet>${ec2Items(items)}</networkAclSet>`);
      }
      case 'CreateNetworkAclEntry': {
        const aclId = params.get('NetworkAclId') ?? '';
        const acl = acls.get(aclId);
        if (acl === undefined) return noAcl(aclId);
        const ruleNumber = Number(params.get('RuleNumber'));
        const egress = params.get('Egress') === 'true';
        const cidr = params.get('CidrBlock') ?? params.get('Ipv6CidrBlock') ?? '';
        const ruleAction = params.get('RuleAction');
        if (!Number.isInteger(ruleNumber) || ruleNumber < 1 || ruleNumber > 32766) {
          return fail(
            'InvalidParameterValue',
            `Invalid value '${params.get('RuleNumber')}' for ruleNumber`,
          );
        }
        if (ruleAction !== 'allow' && ruleAction !== 'deny') {
          return fail('InvalidParameterValue', 'RuleAction must be allow or deny');
        }
        if (parseIpRange(cidr) === undefined) {
          return fail(
            'InvalidParameterValue',
            `Value (${cidr}) for parameter cidrBlock is invalid`,
          );
        }
        if (
          acl.entries.some((entry) => entry.ruleNumber === ruleNumber && entry.egress === egress)
        ) {
          return fail(
            'NetworkAclEntryAlreadyExists',
            `The network acl entry identified by ${ruleNumber} already exists.`,
          );
        }
        const entry: NetworkAclEntryXml = {
          ruleNumber,
          protocol: params.get('Protocol') ?? '-1',
          ruleAction,
          egress,
          ...(params.has('CidrBlock') ? { cidrBlock: cidr } : { ipv6CidrBlock: cidr }),
        };
        acl.entries.push(entry);
        acl.entries.sort((a, b) => a.ruleNumber - b.ruleNumber);
        record('aws', ruleAction === 'deny' ? 'denied IP range' : 'allowed IP range', cidr, {
          networkAclId: aclId,
          ruleNumber,
          direction: egress ? 'egress' : 'ingress',
        });
        return ec2Response(action, id, '<return>true</return>');
      }
      case 'DeleteNetworkAclEntry': {
        const aclId = params.get('NetworkAclId') ?? '';
        const acl = acls.get(aclId);
        if (acl === undefined) return noAcl(aclId);
        const ruleNumber = Number(params.get('RuleNumber'));
        const egress = params.get('Egress') === 'true';
        const index = acl.entries.findIndex(
          (e) => e.ruleNumber === ruleNumber && e.egress === egress,
        );
        if (index < 0 || ruleNumber === 32767) {
          return fail(
            'InvalidNetworkAclEntry.NotFound',
            `The specified network ACL entry (${ruleNumber}) does not exist`,
          );
        }
        const [removed] = acl.entries.splice(index, 1);
        record(
          'aws',
          'removed network ACL entry',
          removed?.cidrBlock ?? removed?.ipv6CidrBlock ?? '?',
          {
            networkAclId: aclId,
            ruleNumber,
            direction: egress ? 'egress' : 'ingress',
          },
        );
        return ec2Response(action, id, '<return>true</return>');
      }
      case 'DescribeSecurityGroups': {
        const wanted = listParam(params, 'GroupId');
        const missing = wanted.find((groupId) => !groups.has(groupId));
        if (missing)
          return fail('InvalidGroup.NotFound', `The security group '${missing}' does not exist`);
        const shown = [...groups.keys()].filter(
          (groupId) => wanted.length === 0 || wanted.includes(groupId),
        );
        const items = shown.map((groupId) =>
          xmlFields({
            ownerId: ACCOUNT,
            groupId,
            groupName: 'inference-gateway',
            groupDescription: 'Inference gateway',
            vpcId: DEMO_VPC_ID,
          }),
        );
        return ec2Response(action, id, `<securityGroupInfo>${ec2Items(items)}</securityGroupInfo>`);
      }
      case 'DescribeSecurityGroupRules': {
        const wanted = filterValues(params, 'group-id');
        const items = [...groups]
          .filter(([groupId]) => wanted === undefined || wanted.includes(groupId))
          .flatMap(([groupId, rules]) => rules.map((rule) => groupRuleXml(groupId, rule)));
        return ec2Response(
          action,
          id,
          `<securityGroupRuleSet>${ec2Items(items)}</securityGroupRuleSet>`,
        );
      }
      case 'RevokeSecurityGroupIngress': {
        const groupId = params.get('GroupId') ?? '';
        const rules = groups.get(groupId);
        if (rules === undefined)
          return fail('InvalidGroup.NotFound', `The security group '${groupId}' does not exist`);
        const ids = listParam(params, 'SecurityGroupRuleId');
        const unknown = ids.find(
          (ruleId) => !rules.some((rule) => rule.id === ruleId && !rule.isEgress),
        );
        if (unknown) {
          return fail(
            'InvalidSecurityGroupRuleId.NotFound',
            `The security group rule ID '${unknown}' does not exist`,
          );
        }
        const revoked = rules.filter((rule) => ids.includes(rule.id));
        groups.set(
          groupId,
          rules.filter((rule) => !ids.includes(rule.id)),
        );
        for (const rule of revoked) {
          record('aws', 'revoked security group ingress', rule.cidrIpv4 ?? rule.cidrIpv6 ?? '?', {
            groupId,
            ruleId: rule.id,
            ports: `${rule.protocol} ${rule.fromPort}-${rule.toPort}`,
          });
        }
        return ec2Response(
          action,
          id,
          `<return>true</return><revokedSecurityGroupRuleSet>${ec2Items(
            revoked.map((rule) => groupRuleXml(groupId, rule)),
          )}</revokedSecurityGroupRuleSet>`,
        );
      }
      default:
        return fail('InvalidAction', `The action ${action} is not valid for this web service.`);
    }
  };

  const iam = (action: string, params: URLSearchParams): XmlReply => {
    const id = requestId();
    const noUser = (user: string): XmlReply =>
      iamError(404, 'NoSuchEntity', `The user with name ${user} cannot be found.`, id);
    switch (action) {
      case 'ListAccessKeys': {
        const user = params.get('UserName') ?? '';
        const keys = users.get(user);
        if (keys === undefined) return noUser(user);
        return listAccessKeysResponse(id, user, keys);
      }
      case 'GetAccessKeyLastUsed': {
        const keyId = params.get('AccessKeyId') ?? '';
        const owner = [...users].find(([, keys]) => keys.some((key) => key.id === keyId));
        const key = owner?.[1].find((candidate) => candidate.id === keyId);
        if (owner === undefined || key === undefined) {
          return iamError(403, 'AccessDenied', `No access key ${keyId} in this account`, id);
        }
        const used = key.lastUsed
          ? xmlFields({
              LastUsedDate: key.lastUsed.at,
              ServiceName: key.lastUsed.service,
              Region: key.lastUsed.region,
            })
          : xmlFields({ ServiceName: 'N/A', Region: 'N/A' });
        return iamResponse(
          action,
          id,
          `${xmlFields({ UserName: owner[0] })}<AccessKeyLastUsed>${used}</AccessKeyLastUsed>`,
        );
      }
      case 'UpdateAccessKey': {
        const user = params.get('UserName') ?? '';
        const keys = users.get(user);
        if (keys === undefined) return noUser(user);
        const keyId = params.get('AccessKeyId') ?? '';
        const key = keys.find((candidate) => candidate.id === keyId);
        if (key === undefined) {
          return iamError(
            404,
            'NoSuchEntity',
            `The Access Key with id ${keyId} cannot be found.`,
            id,
          );
        }
        const status = params.get('Status');
        if (status !== 'Active' && status !== 'Inactive') {
          return iamError(400, 'ValidationError', 'Status must be Active or Inactive', id);
        }
        if (key.status !== status) {
          key.status = status;
          record(
            'aws',
            status === 'Inactive' ? 'disabled access key' : 'enabled access key',
            `${user}/${keyId}`,
            {
              user,
              accessKeyId: keyId,
              status,
            },
          );
        }
        return iamResponse(action, id);
      }
      default:
        return iamError(
          400,
          'InvalidAction',
          `Could not find operation ${action} for version ${IAM_API_VERSION}`,
          id,
        );
    }
  };

  return {
    prefix: AWS_FAKE_PREFIX,
    description: 'AWS EC2 (network ACL, security group) and IAM (access keys), Query API',
    handle(request: FakeRequest): FakeReply | undefined {
      if (request.path !== AWS_FAKE_PREFIX && request.path !== `${AWS_FAKE_PREFIX}/`) {
        return request.path.startsWith(`${AWS_FAKE_PREFIX}/`)
          ? xmlReply(ec2Error(404, 'InvalidAction', `nothing at ${request.path}`, requestId()))
          : undefined;
      }
      const params = new URLSearchParams(request.method === 'POST' ? request.text : request.query);
      const version = params.get('Version');
      const service =
        version === IAM_API_VERSION ? 'iam' : version === EC2_API_VERSION ? 'ec2' : undefined;
      const authorization = request.headers.authorization;
      if (
        typeof authorization !== 'string' ||
        !authorization.startsWith('AWS4-HMAC-SHA256 Credential=')
      ) {
        const message = 'Request is missing Authentication Token';
        return xmlReply(
          service === 'iam'
            ? iamError(403, 'MissingAuthenticationToken', message, requestId())
            : ec2Error(401, 'AuthFailure', message, requestId()),
        );
      }
      const action = params.get('Action') ?? '';
      if (service === 'iam') return xmlReply(iam(action, params));
      if (service === 'ec2') return xmlReply(ec2(action, params));
      return xmlReply(
        ec2Error(400, 'InvalidAction', `unknown API version ${version ?? '(none)'}`, requestId()),
      );
    },
  };
};

function xmlReply(reply: XmlReply): FakeReply {
  return { status: reply.status, body: reply.body, contentType: 'text/xml;charset=UTF-8' };
}

/** `Name.1`, `Name.2`, … */
function listParam(params: URLSearchParams, name: string): string[] {
  const values: string[] = [];
  for (let index = 1; params.has(`${name}.${index}`); index += 1) {
    values.push(params.get(`${name}.${index}`) ?? '');
  }
  return values;
}

/** The values of the `Filter.N` named `name`, or undefined when there is none. */
function filterValues(params: URLSearchParams, name: string): string[] | undefined {
  for (let index = 1; params.has(`Filter.${index}.Name`); index += 1) {
    if (params.get(`Filter.${index}.Name`) === name)
      return listParam(params, `Filter.${index}.Value`);
  }
  return undefined;
}

function groupRuleXml(groupId: string, rule: GroupRule): string {
  return securityGroupRuleItem({ ...rule, groupId, ownerId: ACCOUNT });
}
