import { describe, expect, it } from 'vitest';
import { WardenError } from '../core/errors.js';
import { guardDutyFindingFormat } from './aws-guardduty.js';
import { securityHubFindingFormat } from './aws-security-hub-asff.js';
import { bedrockGuardrailsFormat } from './aws-bedrock-guardrails.js';
import { azureContentSafetyFormat } from './azure-content-safety.js';
import { lakeraGuardFormat } from './lakera-guard.js';
import { llmGuardFormat } from './llm-guard.js';
import { sentinelSecurityAlertFormat } from './microsoft-sentinel.js';
import { sentinelIncidentFormat } from './microsoft-sentinel-incident.js';
import { elasticKibanaFormat } from './elastic-kibana.js';
import { evidentlyFormat } from './evidently.js';
import { garakFormat } from './garak.js';
import { googleSccFormat } from './google-scc.js';
import { nativeFormat } from './native.js';
import { nemoGuardrailsFormat } from './nemo-guardrails.js';
import { ocsfDetectionFindingFormat } from './ocsf-detection-finding.js';
import { rebuffFormat } from './rebuff.js';
import {
  SOURCE_FORMATS,
  detectSourceFormat,
  findSourceFormat,
  normalizePayload,
  sourceFormatNames,
} from './source-registry.js';
import { splunkWebhookFormat } from './splunk-webhook.js';

const nativeAlert = { type: 'jailbreak', title: 'DAN prompt', severity: 'low' };
const ocsfFinding = {
  class_uid: 2004,
  severity_id: 4,
  time: 1795687200000,
  finding_info: { title: 'Cost harvesting on tenant t-9' },
};

function errorOf(fn: () => unknown): WardenError {
  try {
    fn();
  } catch (error) {
    if (error instanceof WardenError) return error;
    throw error;
  }
  throw new Error('expected a WardenError');
}

describe('source registry', () => {
  it('lists native last, so the more specific checks run first', () => {
    expect(SOURCE_FORMATS).toEqual([
      ocsfDetectionFindingFormat,
      guardDutyFindingFormat,
      securityHubFindingFormat,
      sentinelSecurityAlertFormat,
      sentinelIncidentFormat,
      splunkWebhookFormat,
      elasticKibanaFormat,
      googleSccFormat,
      garakFormat,
      evidentlyFormat,
      llmGuardFormat,
      bedrockGuardrailsFormat,
      azureContentSafetyFormat,
      lakeraGuardFormat,
      rebuffFormat,
      nemoGuardrailsFormat,
      nativeFormat,
    ]);
    expect(sourceFormatNames()).toEqual([
      'ocsf',
      'guardduty',
      'asff',
      'sentinel',
      'sentinel-incident',
      'splunk',
      'elastic',
      'gcp-scc',
      'garak',
      'evidently',
      'llm-guard',
      'bedrock-guardrails',
      'azure-content-safety',
      'lakera-guard',
      'rebuff',
      'nemo-guardrails',
      'native',
    ]);
  });

  it('has unique format names', () => {
    expect(new Set(sourceFormatNames()).size).toBe(SOURCE_FORMATS.length);
  });

  it('finds a format by name, ignoring case and surrounding blanks', () => {
    expect(findSourceFormat('native')).toBe(nativeFormat);
    expect(findSourceFormat(' OCSF ')).toBe(ocsfDetectionFindingFormat);
  });

  it('rejects an unknown format name, listing the known ones', () => {
    const error = errorOf(() => findSourceFormat('qradar'));
    expect(error.code).toBe('unknown_source_format');
    expect(error.field).toBe('source');
    expect(error.status).toBe(400);
    expect(error.message).toContain('"qradar"');
    expect(error.message).toContain(
      'ocsf, guardduty, asff, sentinel, sentinel-incident, splunk, elastic, gcp-scc, garak, evidently, llm-guard, bedrock-guardrails, azure-content-safety, lakera-guard, rebuff, nemo-guardrails, native',
    );
  });

  it('detects each format from its payload', () => {
    expect(detectSourceFormat(nativeAlert)).toBe(nativeFormat);
    expect(detectSourceFormat(ocsfFinding)).toBe(ocsfDetectionFindingFormat);
    // A finding that also carries a Warden type is still OCSF.
    expect(detectSourceFormat({ ...ocsfFinding, type: 'jailbreak' })).toBe(
      ocsfDetectionFindingFormat,
    );
  });

  it.each([[{ alert: 'x' }], ['text'], [null]])('cannot detect the format of %j', (payload) => {
    const error = errorOf(() => detectSourceFormat(payload));
    expect(error.code).toBe('undetected_source_format');
    expect(error.status).toBe(422);
    expect(error.message).toBe(
      'could not recognise the alert format; pass ?source=FORMAT (one of ocsf, guardduty, asff, sentinel, sentinel-incident, splunk, elastic, gcp-scc, garak, evidently, llm-guard, bedrock-guardrails, azure-content-safety, lakera-guard, rebuff, nemo-guardrails, native)',
    );
  });

  it('names the closest format and what it lacks when none detects the payload', () => {
    const ocsfLike = errorOf(() => detectSourceFormat({ class_uid: 3002, severity_id: 4 }));
    expect(ocsfLike).toMatchObject({
      code: 'undetected_source_format',
      status: 422,
      field: 'class_uid',
      details: { closestFormat: 'ocsf' },
    });
    expect(ocsfLike.message).toMatch(
      /^could not recognise the alert format: closest is ocsf, but OCSF detection finding: field "class_uid" must be 2004.*; pass \?source=FORMAT/,
    );
    expect(
      errorOf(() => detectSourceFormat({ source: 'aws.guardduty', detail: {} })),
    ).toMatchObject({ field: 'detail.id', details: { closestFormat: 'guardduty' } });
    expect(errorOf(() => detectSourceFormat({ type: 'nope', title: 't' }))).toMatchObject({
      field: 'type',
      details: { closestFormat: 'native' },
    });
  });

  it('normalises with the detected format', () => {
    expect(normalizePayload(nativeAlert)).toMatchObject({
      source: { format: 'native' },
      type: 'jailbreak',
      severityId: 2,
    });
    expect(normalizePayload(ocsfFinding)).toMatchObject({
      source: { format: 'ocsf' },
      type: 'cost_harvesting',
      severityId: 4,
      atlasTechniques: ['AML.T0034'],
    });
  });

  it('normalises with the named format even when detection would pick another', () => {
    const error = errorOf(() => normalizePayload(nativeAlert, 'ocsf'));
    expect(error.code).toBe('missing_field');
    expect(error.field).toBe('class_uid');
    expect(normalizePayload(nativeAlert, 'native').title).toBe('DAN prompt');
  });

  it('rejects an unknown named format before looking at the payload', () => {
    expect(errorOf(() => normalizePayload(nativeAlert, 'stix')).code).toBe('unknown_source_format');
  });
});
