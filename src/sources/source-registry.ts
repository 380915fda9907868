import type { AlertDraft } from '../core/alert.js';
import { WardenError, invalidField } from '../core/errors.js';
import { guardDutyFindingFormat } from './aws-guardduty.js';
import { securityHubFindingFormat } from './aws-security-hub-asff.js';
import { bedrockGuardrailsFormat } from './aws-bedrock-guardrails.js';
import { azureContentSafetyFormat } from './azure-content-safety.js';
import { elasticKibanaFormat } from './elastic-kibana.js';
import { evidentlyFormat } from './evidently.js';
import { garakFormat } from './garak.js';
import { googleSccFormat } from './google-scc.js';
import { lakeraGuardFormat } from './lakera-guard.js';
import { llmGuardFormat } from './llm-guard.js';
import { sentinelSecurityAlertFormat } from './microsoft-sentinel.js';
import { sentinelIncidentFormat } from './microsoft-sentinel-incident.js';
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
 * `sid` + `search_name`, Sentinel's `SystemAlertId`, Kibana's `kibana.alert.*`, an SCC finding's `finding.name`
 * (decoded from a Pub/Sub push), garak's `entry_type` report rows, an Evidently
 * snapshot's `metrics` + `tests`). The AI detection layers'
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
    const pass = `pass ?source=FORMAT (one of ${sourceFormatNames().join(', ')})`;
    const closest = closestSourceFormat(payload);
    if (!closest) {
      throw new WardenError(
        'undetected_source_format',
        `could not recognise the alert format; ${pass}`,
      );
    }
    const lacks = closest.error
      ? `, but ${closest.error.message}`
      : `; it reads as ${closest.format.name} with ?source=${closest.format.name}`;
    throw new WardenError(
      'undetected_source_format',
      `could not recognise the alert format: closest is ${closest.format.name}${lacks}; ${pass}`,
      {
        ...(closest.error?.field ? { field: closest.error.field } : {}),
        details: { closestFormat: closest.format.name },
      },
    );
  }
  return format;
}

export interface ClosestSourceFormat {
  format: SourceFormat;
  /** Why the format refuses the payload; undefined when it would read it if named. */
  error?: WardenError;
}

/**
 * The format a payload no format detects comes closest to: each format's
 * `normalize` is run on a view of the payload that counts which of its fields
 * are read, and the format that read the most of them before refusing wins
 * (ties go to the earlier, more specific format). Undefined when no format
 * read any field the payload has. Only runs on the refusal path: it costs one
 * normalisation per format.
 */
export function closestSourceFormat(payload: unknown): ClosestSourceFormat | undefined {
  let best: (ClosestSourceFormat & { score: number }) | undefined;
  for (const format of SOURCE_FORMATS) {
    const { view, fieldsRead } = countingView(payload);
    let error: WardenError | undefined;
    try {
      format.normalize(view);
    } catch (thrown) {
      // A format may trip over a shape it never expected; that only makes it a poor match.
      error = thrown instanceof WardenError ? thrown : undefined;
      if (!error) continue;
    }
    // A format that reads the payload when named beats every near miss.
    const score = error ? fieldsRead.size : Number.MAX_SAFE_INTEGER;
    if (score > 0 && (!best || score > best.score)) {
      best = { format, score, ...(error ? { error } : {}) };
    }
  }
  if (!best) return undefined;
  return { format: best.format, ...(best.error ? { error: best.error } : {}) };
}

/** A read-only view of a JSON value that records the paths of the fields read from it. */
function countingView(payload: unknown): { view: unknown; fieldsRead: Set<string> } {
  const fieldsRead = new Set<string>();
  const wrap = (value: unknown, path: string): unknown => {
    if (typeof value !== 'object' || value === null) return value;
    return new Proxy(value, {
      get(target, key, receiver) {
        const child: unknown = Reflect.get(target, key, receiver);
        if (typeof key !== 'string' || !Object.hasOwn(target, key)) return child;
        const childPath = `${path}.${key}`;
        fieldsRead.add(childPath);
        return wrap(child, childPath);
      },
      set: () => false,
      deleteProperty: () => false,
      defineProperty: () => false,
    });
  };
  return { view: wrap(payload, ''), fieldsRead };
}

/** The named format, or the detected one when none is named. */
export function sourceFormatFor(payload: unknown, formatName?: string): SourceFormat {
  return formatName === undefined ? detectSourceFormat(payload) : findSourceFormat(formatName);
}

/** The alerts inside a payload, by its format's `expand`: the payload itself when it has none. */
export function payloadParts(format: SourceFormat, payload: unknown): unknown[] {
  return format.expand ? format.expand(payload) : [payload];
}

/**
 * Normalises with the named format, or the detected one when none is named;
 * `context` (the sender's model, session, user) fills what the payload lacks.
 * For a payload that holds exactly one alert; one that holds several or none
 * is refused with `invalid_field` (use `normalizePayloads`).
 */
export function normalizePayload(
  payload: unknown,
  formatName?: string,
  context?: SourceContext,
): AlertDraft {
  const format = sourceFormatFor(payload, formatName);
  const parts = payloadParts(format, payload);
  if (parts.length !== 1) {
    throw invalidField(
      '(root)',
      parts.length === 0
        ? 'carries no finding'
        : `holds ${parts.length} alerts; ingest it through POST /api/v1/alerts or warden ingest`,
      `${format.name} payload`,
    );
  }
  return normalizePart(format, parts[0], context);
}

/**
 * One draft per alert inside the payload (see `SourceFormat.expand`), none
 * for a payload that carries no finding. Throws on the first part refused;
 * the ingest route and CLI normalise part by part to report each.
 */
export function normalizePayloads(
  payload: unknown,
  formatName?: string,
  context?: SourceContext,
): AlertDraft[] {
  const format = sourceFormatFor(payload, formatName);
  return payloadParts(format, payload).map((part) => normalizePart(format, part, context));
}

/**
 * One alert of a payload, normalised with the sender context: the adapter
 * fills observables from it; the business unit is added here, for every format.
 */
export function normalizePart(
  format: SourceFormat,
  part: unknown,
  context?: SourceContext,
): AlertDraft {
  const draft = format.normalize(part, context);
  if (context?.business_unit !== undefined && draft.businessUnit === undefined) {
    draft.businessUnit = context.business_unit;
  }
  return draft;
}
