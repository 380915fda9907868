/**
 * The XML that EC2 and IAM answer AWS Query protocol requests with, for the
 * local stand-ins (the demo's AWS fake and the connector tests): success
 * envelopes with their request id, the two services' error shapes, and the
 * network ACLs, security group rules and access keys they describe.
 */

export const EC2_API_VERSION = '2016-11-15';
export const IAM_API_VERSION = '2010-05-08';
const EC2_NAMESPACE = `http://ec2.amazonaws.com/doc/${EC2_API_VERSION}/`;
const IAM_NAMESPACE = `https://iam.amazonaws.com/doc/${IAM_API_VERSION}/`;

export interface XmlReply {
  readonly status: number;
  readonly body: string;
}

/** Escapes text for an XML element. */
export function xml(text: string | number | boolean): string {
  return String(text)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

/** `<ActionResponse xmlns=…><requestId>…</requestId>…</ActionResponse>`. */
export function ec2Response(action: string, requestId: string, inner = ''): XmlReply {
  return {
    status: 200,
    body:
      `<?xml version="1.0" encoding="UTF-8"?>\n` +
      `<${action}Response xmlns="${EC2_NAMESPACE}"><requestId>${xml(requestId)}</requestId>${inner}</${action}Response>`,
  };
}

/** `<Response><Errors><Error><Code>…` — EC2's error shape (note `RequestID`). */
export function ec2Error(
  status: number,
  code: string,
  message: string,
  requestId: string,
): XmlReply {
  return {
    status,
    body:
      `<?xml version="1.0" encoding="UTF-8"?>\n` +
      `<Response><Errors><Error><Code>${xml(code)}</Code><Message>${xml(message)}</Message></Error></Errors>` +
      `<RequestID>${xml(requestId)}</RequestID></Response>`,
  };
}

/** `<ActionResponse xmlns=…><ActionResult>…</ActionResult><ResponseMetadata>…`; no result element when `result` is undefined. */
export function iamResponse(action: string, requestId: string, result?: string): XmlReply {
  const resultElement = result === undefined ? '' : `<${action}Result>${result}</${action}Result>`;
  return {
    status: 200,
    body:
      `<${action}Response xmlns="${IAM_NAMESPACE}">${resultElement}` +
      `<ResponseMetadata><RequestId>${xml(requestId)}</RequestId></ResponseMetadata></${action}Response>`,
  };
}

/** `<ErrorResponse><Error><Type>Sender</Type><Code>…` — IAM's error shape. */
export function iamError(
  status: number,
  code: string,
  message: string,
  requestId: string,
  type: 'Sender' | 'Receiver' = status >= 500 ? 'Receiver' : 'Sender',
): XmlReply {
  return {
    status,
    body:
      `<ErrorResponse xmlns="${IAM_NAMESPACE}"><Error><Type>${type}</Type><Code>${xml(code)}</Code>` +
      `<Message>${xml(message)}</Message></Error><RequestId>${xml(requestId)}</RequestId></ErrorResponse>`,
  };
}

/** EC2 lists: `<item>…</item>` per element. */
export function ec2Items(items: readonly string[]): string {
  return items.map((item) => `<item>${item}</item>`).join('');
}

/** IAM lists: `<member>…</member>` per element. */
export function iamMembers(items: readonly string[]): string {
  return items.map((item) => `<member>${item}</member>`).join('');
}

/** Elements for each defined field: `{ ruleNumber: 100 }` → `<ruleNumber>100</ruleNumber>`. */
export function xmlFields(
  fields: Readonly<Record<string, string | number | boolean | undefined>>,
): string {
  return Object.entries(fields)
    .filter((entry): entry is [string, string | number | boolean] => entry[1] !== undefined)
    .map(([name, value]) => `<${name}>${xml(value)}</${name}>`)
    .join('');
}

// ---------------------------------------------------------------------------
// The shapes the stand-ins answer with

/** A network ACL entry as EC2 describes it. */
export interface NetworkAclEntryXml {
  readonly ruleNumber: number;
  /** `-1` for all protocols. */
  readonly protocol: string;
  readonly ruleAction: 'allow' | 'deny';
  readonly egress: boolean;
  readonly cidrBlock?: string;
  readonly ipv6CidrBlock?: string;
}

/** One `networkAclSet` item, as DescribeNetworkAcls answers. */
export function networkAclItem(acl: {
  readonly id: string;
  readonly vpcId: string;
  readonly isDefault: boolean;
  readonly ownerId: string;
  readonly entries: readonly NetworkAclEntryXml[];
}): string {
  const entryItems = ec2Items(
    acl.entries.map((entry) =>
      xmlFields({
        ruleNumber: entry.ruleNumber,
        protocol: entry.protocol,
        ruleAction: entry.ruleAction,
        egress: entry.egress,
        cidrBlock: entry.cidrBlock,
        ipv6CidrBlock: entry.ipv6CidrBlock,
      }),
    ),
  );
  return (
    xmlFields({ networkAclId: acl.id, vpcId: acl.vpcId, default: acl.isDefault }) +
    `<entrySet>${entryItems}</entrySet><associationSet/><tagSet/>` +
    xmlFields({ ownerId: acl.ownerId })
  );
}

/** A security group rule as EC2 describes it. */
export interface SecurityGroupRuleXml {
  readonly id: string;
  readonly groupId: string;
  readonly ownerId: string;
  readonly isEgress: boolean;
  readonly protocol: string;
  readonly fromPort: number;
  readonly toPort: number;
  readonly cidrIpv4?: string;
  readonly cidrIpv6?: string;
  readonly description?: string;
}

/** One `securityGroupRuleSet` item, as DescribeSecurityGroupRules (and the revoke) answer. */
export function securityGroupRuleItem(rule: SecurityGroupRuleXml): string {
  return xmlFields({
    securityGroupRuleId: rule.id,
    groupId: rule.groupId,
    groupOwnerId: rule.ownerId,
    isEgress: rule.isEgress,
    ipProtocol: rule.protocol,
    fromPort: rule.fromPort,
    toPort: rule.toPort,
    cidrIpv4: rule.cidrIpv4,
    cidrIpv6: rule.cidrIpv6,
    description: rule.description,
  });
}

/** An IAM access key as ListAccessKeys describes it. */
export interface AccessKeyXml {
  readonly id: string;
  readonly status: 'Active' | 'Inactive';
  /** ISO-8601. */
  readonly created: string;
}

/** ListAccessKeys' answer: all of the user's keys, never truncated. */
export function listAccessKeysResponse(
  requestId: string,
  user: string,
  keys: readonly AccessKeyXml[],
): XmlReply {
  const members = iamMembers(
    keys.map((key) =>
      xmlFields({
        UserName: user,
        AccessKeyId: key.id,
        Status: key.status,
        CreateDate: key.created,
      }),
    ),
  );
  return iamResponse(
    'ListAccessKeys',
    requestId,
    `${xmlFields({ UserName: user })}<AccessKeyMetadata>${members}</AccessKeyMetadata><IsTruncated>false</IsTruncated>`,
  );
}
