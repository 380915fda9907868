import { describe, expect, it } from 'vitest';
import { WardenError } from '../core/errors.js';
import { classifySccCategory, googleSccFormat } from './google-scc.js';
import { describeSourceFormatContract } from './source-format.contract.js';
import { normalizePayload } from './source-registry.js';

/*
 * Payloads written from Google's public documentation: Security Command
 * Center "Enable real-time notifications" / NotificationMessage and Finding
 * reference (notificationConfigName, finding.name/parent/resourceName/state/
 * category/severity/eventTime/createTime/findingClass/mitreAttack/access),
 * and Pub/Sub "Push subscriptions" (the push request body: message.data in
 * base64, messageId, publishTime, attributes, subscription). The first
 * notification is the docs' sample; the Vertex AI one fills the optional
 * fields with made-up values (documentation IP ranges).
 */

const docsNotification = {
  notificationConfigName: 'organizations/123456789012/notificationConfigs/scc-to-warden',
  finding: {
    name: 'organizations/123456789012/sources/5678/findings/f00dfeed0001',
    parent: 'organizations/123456789012/sources/5678',
    state: 'ACTIVE',
    category: 'TEST-CATEGORY',
    securityMarks: {
      name: 'organizations/123456789012/sources/5678/findings/f00dfeed0001/securityMarks',
    },
    eventTime: '2019-07-26T07:32:37Z',
    createTime: '2019-07-29T18:45:27.243Z',
  },
};

const vertexNotification = {
  notificationConfigName: 'organizations/123456789012/notificationConfigs/scc-to-warden',
  finding: {
    name: 'organizations/123456789012/sources/9012/locations/global/findings/a1b2c3d4e5f6',
    parent: 'organizations/123456789012/sources/9012/locations/global',
    resourceName:
      '//aiplatform.googleapis.com/projects/ml-prod/locations/us-central1/endpoints/4455667788',
    state: 'ACTIVE',
    category: 'Persistence: New Geography for AI Service',
    severity: 'HIGH',
    findingClass: 'THREAT',
    eventTime: '2026-11-26T09:58:10.120Z',
    createTime: '2026-11-26T09:59:02.000Z',
    description: 'A principal called Vertex AI from a geography it has not used before.',
    sourceProperties: { detectionCategory: { ruleName: 'ai_new_geography' } },
    mitreAttack: { primaryTactic: 'PERSISTENCE', primaryTechniques: ['VALID_ACCOUNTS'] },
    access: {
      callerIp: '203.0.113.77',
      principalEmail: 'svc-infer@ml-prod.iam.gserviceaccount.com',
      serviceName: 'aiplatform.googleapis.com',
      methodName: 'google.cloud.aiplatform.v1.PredictionService.Predict',
    },
  },
  resource: {
    name: '//aiplatform.googleapis.com/projects/ml-prod/locations/us-central1/endpoints/4455667788',
    displayName: 'support-bot-endpoint',
    type: 'google.cloud.aiplatform.Endpoint',
  },
};

function envelope(notification: unknown, data?: string): unknown {
  return {
    message: {
      attributes: { key: 'value' },
      data: data ?? Buffer.from(JSON.stringify(notification)).toString('base64'),
      messageId: '2070443601311540',
      message_id: '2070443601311540',
      publishTime: '2026-11-26T10:00:00.749Z',
      publish_time: '2026-11-26T10:00:00.749Z',
    },
    subscription: 'projects/myproject/subscriptions/mysubscription',
  };
}

const pushed = envelope(vertexNotification);
/** Pub/Sub's own docs sample data: "Hello Cloud Pub/Sub! Here is my message!" (not JSON). */
const notJson = envelope(undefined, 'SGVsbG8gQ2xvdWQgUHViL1N1YiEgSGVyZSBpcyBteSBtZXNzYWdlIQ==');
const notBase64 = envelope(undefined, 'not base64 at all!');
/** The same data wrapped at 76 characters, as a MIME encoder (a hand-made test payload) writes it. */
const wrapped = envelope(
  undefined,
  (
    Buffer.from(JSON.stringify(vertexNotification))
      .toString('base64')
      .match(/.{1,76}/g) ?? []
  ).join('\r\n'),
);

describeSourceFormatContract(googleSccFormat, {
  valid: [docsNotification, vertexNotification, pushed, envelope(docsNotification), wrapped],
  invalid: [
    notJson,
    notBase64,
    { notificationConfigName: 'organizations/1/notificationConfigs/x' },
    { finding: { name: 'organizations/1/sources/2/findings/3' } },
    { finding: { name: 'organizations/1/sources/2/findings/3', category: ' ' } },
    envelope({ notificationConfigName: 'x' }),
  ],
});

describe('Security Command Center notifications', () => {
  it('reads a pushed Vertex AI finding', () => {
    const draft = normalizePayload(pushed, undefined, { model: 'ignored', session: 's-1' });
    expect(draft).toMatchObject({
      source: {
        format: 'gcp-scc',
        product: 'Security Command Center',
        vendor: 'Google',
        uid: vertexNotification.finding.name,
      },
      type: 'inference_spike',
      title: 'Persistence: New Geography for AI Service',
      severityId: 4,
      atlasTechniques: ['AML.T0040'],
      firstSeen: '2026-11-26T09:58:10.120Z',
      lastSeen: '2026-11-26T09:59:02.000Z',
      dedupKey: `gcp-scc:${vertexNotification.finding.name}`,
      observables: {
        ips: ['203.0.113.77'],
        users: ['svc-infer@ml-prod.iam.gserviceaccount.com'],
        sessionIds: ['s-1'],
        model: {
          id: 'projects/ml-prod/locations/us-central1/endpoints/4455667788',
          endpoint: vertexNotification.finding.resourceName,
        },
      },
    });
    expect(draft.raw).toBe(pushed);
    expect(draft.description).toContain('MITRE ATT&CK: PERSISTENCE, VALID_ACCOUNTS.');
  });

  it("reads the docs' sample: unknown category is other, no severity is Medium", () => {
    expect(normalizePayload(docsNotification, undefined, { model: 'm-1' })).toMatchObject({
      type: 'other',
      severityId: 3,
      atlasTechniques: [],
      firstSeen: '2019-07-26T07:32:37.000Z',
      lastSeen: '2019-07-29T18:45:27.243Z',
      observables: { ips: [], users: [], model: { id: 'm-1' } },
    });
  });

  it('names message.data when the envelope does not carry a JSON notification', () => {
    for (const bad of [notJson, notBase64]) {
      const error = (() => {
        try {
          normalizePayload(bad, 'gcp-scc');
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(WardenError);
      expect(error).toMatchObject({ code: 'invalid_field', field: 'message.data' });
    }
    // Auto-detection refuses it too, naming the closest format's field.
    expect(() => normalizePayload(notJson)).toThrow(/gcp-scc/);
  });

  it('reads base64 with any ASCII whitespace in it, and refuses padding in the middle or other characters', () => {
    const data = Buffer.from(JSON.stringify(vertexNotification)).toString('base64');
    const spaced = `\t${data.slice(0, 10)} \n${data.slice(10, 40)}\r\n${data.slice(40)}\f\v `;
    expect(googleSccFormat.normalize(envelope(undefined, spaced)).source.uid).toBe(
      vertexNotification.finding.name,
    );
    const padded = Buffer.from('{"a":1}').toString('base64');
    expect(padded).toBe('eyJhIjoxfQ==');
    for (const bad of [
      `${padded}AAAA`, // data after the padding
      `${data.slice(0, 20)}=${data.slice(20)}`,
      `${data}===`,
      `${data.slice(0, 20)}é${data.slice(20)}`,
      `${data.slice(0, 20)}-_${data.slice(20)}`, // base64url is not what Pub/Sub sends
      ' \n ',
      '',
    ]) {
      expect(() => googleSccFormat.normalize(envelope(undefined, bad))).toThrow(/message\.data/);
    }
  });

  it('normalises the payload it is given, not one detected before', () => {
    const other = envelope(docsNotification);
    expect(googleSccFormat.detect(pushed)).toBe(true);
    expect(googleSccFormat.normalize(other).source.uid).toBe(docsNotification.finding.name);
    // The same message object whose data changed after detection is read afresh.
    const changing = envelope(vertexNotification) as { message: { data: string } };
    expect(googleSccFormat.detect(changing)).toBe(true);
    changing.message.data = Buffer.from(JSON.stringify(docsNotification)).toString('base64');
    expect(googleSccFormat.normalize(changing).source.uid).toBe(docsNotification.finding.name);
    // Detected, then normalised: the same result as without detection.
    expect(googleSccFormat.detect(pushed)).toBe(true);
    expect(googleSccFormat.normalize(pushed)).toEqual(googleSccFormat.normalize(pushed));
  });

  it('maps categories: keywords, then AI-service identity misuse and anomalies', () => {
    expect(classifySccCategory('Exfiltration: BigQuery Data Exfiltration').type).toBe(
      'data_exfiltration',
    );
    expect(classifySccCategory('Initial Access: Leaked Credentials').type).toBe(
      'credential_misuse',
    );
    expect(
      classifySccCategory('Initial Access: Dormant Service Account Activity in AI Service'),
    ).toEqual({ type: 'credential_misuse', atlasIds: ['AML.T0012'] });
    expect(classifySccCategory('Persistence: New AI API Method')).toEqual({
      type: 'inference_spike',
      atlasIds: ['AML.T0040'],
    });
    expect(classifySccCategory('Anomalous Vertex AI model activity').type).toBe('inference_spike');
    expect(classifySccCategory('OPEN_FIREWALL').type).toBe('other');
    // Categories are remembered; what a caller does with an answer stays with it.
    classifySccCategory('Persistence: New AI API Method').atlasIds.push('changed');
    expect(classifySccCategory('Persistence: New AI API Method').atlasIds).toEqual(['AML.T0040']);
  });

  it('reads a Vertex AI model version as the model', () => {
    const draft = normalizePayload({
      ...docsNotification,
      finding: {
        ...docsNotification.finding,
        severity: 'CRITICAL',
        resourceName:
          '//aiplatform.googleapis.com/projects/ml-prod/locations/europe-west4/models/77@3',
      },
    });
    expect(draft.severityId).toBe(5);
    expect(draft.observables.model).toEqual({
      id: 'projects/ml-prod/locations/europe-west4/models/77',
      version: '3',
    });
  });
});
