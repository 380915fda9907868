/**
 * The XML that EC2 and IAM answer AWS Query protocol requests with, for the
 * local stand-ins (the demo's AWS fake and the connector tests): success
 * envelopes with their request id and the two services' error shapes.
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
