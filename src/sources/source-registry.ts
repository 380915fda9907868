import type { AlertDraft } from '../core/alert.js';
import { WardenError } from '../core/errors.js';
import { guardDutyFindingFormat } from './aws-guardduty.js';
import { securityHubFindingFormat } from './aws-security-hub-asff.js';
import { bedrockGuardrailsFormat } from './aws-bedrock-guardrails.js';
import { azureContentSafetyFormat } from './azure-content-safety.js';
import { lakeraGuardFormat } from './lakera-guard.js';
import { llmGuardFormat } from './llm-guard.js';
import { sentinelSecurityAlertFormat } from './microsoft-sentinel.js';
import { nativeFormat } from './native.js';
import { nemoGuardrailsFormat } from './nemo-guardrails.js';
import { ocsfDetectionFindingFormat } from './ocsf-detection-finding.js';
import { rebuffFormat } from './rebuff.js';
import type { SourceContext, SourceFormat } from './source-format.js';
import { splunkWebhookFormat } from './splunk-webhook.js';

/**
 * Every alert format Warden reads, in detection order: the most specific
 * structural check first, so a payload is claimed by the format it was made for.
 * The vendor formats key on fields only their producer writes (an EventBridge
 * `source` and `detail-type`, ASFF's `SchemaVersion` + `ProductArn`, Splunk's
 * `sid` + `search_name`, Sentinel's `SystemAlertId`). The AI detection layers'
 * verdicts key on their response fields: LLM Guard's `is_valid` + `scanners`,
 * Bedrock's `action` + `assessments` or `trace.guardrail`, Azure's
 * `userPromptAnalysis` / `documentsAnalysis` or `categoriesAnalysis`,
 * Lakera's `flagged` + `breakdown` or `metadata.request_uuid` (and no
 * `messages`, so its request is not claimed), Rebuff's `injectionDetected` /
 * `injection_detected` with its scores, NeMo Guardrails' `log.activated_rails`. Native,
 * which claims any payload with a known `type`, comes last.
 */
export const SOURCE_FORMATS: readonly SourceFormat[] = Object.freeze([
  ocsfDetectionFindingFormat,
  guardDutyFindingFormat,
  securityHubFindingFormat,
  sentinelSecurityAlertFormat,
  splunkWebhookFormat,
  llmGuardFormat,
  bedrockGuardrailsFormat,
  azureContentSafetyFormat,
  lakeraGuardFormat,
  rebuffFormat,
  nemoGuardrailsFormat,
  nativeFormat,
]);

export function sourceFormatNames(): string[] {
  return SOURCE_FORMATS.map((format) => format.name);
}

/** The format named by `?source=NAME` (case-insensitive). */
export function findSourceFormat(name: string): SourceFormat {
  const wanted = name.trim().toLowerCase();
  const format = SOURCE_FORMATS.find((f) => f.name === wanted);
  if (!format) {
    throw new WardenError(
      'unknown_source_format',
      `unknown source format "${name}"; known formats: ${sourceFormatNames().join(', ')}`,
      { field: 'source' },
    );
  }
  return format;
}

export function detectSourceFormat(payload: unknown): SourceFormat {
  const format = SOURCE_FORMATS.find((f) => f.detect(payload));
  if (!format) {
    throw new WardenError(
      'undetected_source_format',
      `could not recognise the alert format; pass ?source=FORMAT (one of ${sourceFormatNames().join(', ')})`,
    );
  }
  return format;
}

/**
 * Normalises with the named format, or the detected one when none is named;
 * `context` (the sender's model, session, user) fills what the payload lacks.
 */
export function normalizePayload(
  payload: unknown,
  formatName?: string,
  context?: SourceContext,
): AlertDraft {
  const format =
    formatName === undefined ? detectSourceFormat(payload) : findSourceFormat(formatName);
  return format.normalize(payload, context);
}
