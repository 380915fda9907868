import { SEVERITY_LABELS, type SeverityLabel } from '../core/alert.js';
import type { Fields } from '../config/yaml-source.js';
import { toConnectorError, type ConnectorResult, type Reconciliation } from './connector.js';
import type { ConnectorConfigReader } from './connector-config-reader.js';
import type { SecretRedactor } from './secrets.js';

/**
 * What the ticketing connectors (Jira, ServiceNow) take from a Warden case:
 * its severity, read in either case and mapped to the vendor's own scale by
 * a configurable map, its title as a one-line summary, and the reference
 * back to the case; and how they reconcile a create, by finding the ticket
 * through the mark the create left on it.
 */

/** A Warden (OCSF) severity in lower case, the keys of the severity maps. */
export type WardenSeverity = Lowercase<SeverityLabel>;

export const WARDEN_SEVERITIES: readonly WardenSeverity[] = SEVERITY_LABELS.map(
  (label) => label.toLowerCase() as WardenSeverity,
);

/** Accepts `high` as well as `High`, which is what `${{ case.severity }}` gives. */
export const SEVERITY_INPUT_SCHEMA = {
  enum: [...WARDEN_SEVERITIES, ...SEVERITY_LABELS],
  description: "Warden severity, e.g. '${{ case.severity }}' (High) or high",
} as const;

/** What a `create_ticket` action takes: the case the ticket is for (`required`: all four). */
export const CASE_INPUT_PROPERTIES = {
  title: { type: 'string', minLength: 1 },
  description: { type: 'string' },
  case_number: { type: 'integer', minimum: 1 },
  severity: SEVERITY_INPUT_SCHEMA,
} as const;

export function toWardenSeverity(text: string): WardenSeverity | undefined {
  const lower = text.trim().toLowerCase();
  return (WARDEN_SEVERITIES as readonly string[]).includes(lower)
    ? (lower as WardenSeverity)
    : undefined;
}

/**
 * The mapping `key` of severity → vendor value: the severities given
 * (in any case) override `defaults` one by one, each value read by
 * `readValue` from the section.
 */
export function readSeverityMap<T>(
  config: Fields,
  reader: ConnectorConfigReader,
  key: string,
  defaults: Readonly<Record<WardenSeverity, T>>,
  readValue: (section: Fields, key: string) => T,
): Record<WardenSeverity, T> {
  const map: Record<WardenSeverity, T> = { ...defaults };
  const section: Fields = reader.openSection(config, key);
  for (const name of section.keys()) {
    const severity = toWardenSeverity(name);
    if (severity === undefined) {
      section.fail(name, `is not a Warden severity (one of: ${WARDEN_SEVERITIES.join(', ')})`);
    }
    map[severity] = readValue(section, name);
  }
  return map;
}

/** `title` as one line of at most `max` characters, cut visibly with `…`. */
export function oneLineSummary(title: string, max: number): string {
  const line = title.replace(/\s+/g, ' ').trim();
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}

/** The case reference closing every description: text, and a link when `warden_url` is set. */
export interface CaseLink {
  readonly text: string;
  readonly href?: string;
}

export function caseLink(caseNumber: number, wardenUrl: string | undefined): CaseLink {
  const text = `Warden case #${caseNumber}`;
  return wardenUrl === undefined
    ? { text }
    : { text, href: `${wardenUrl}/api/v1/cases/${caseNumber}` };
}

/** `text` trimmed and followed, after a blank line, by `reference` (alone when `text` is empty). */
export function withReference(text: string, reference: string): string {
  const body = text.trim();
  return body === '' ? reference : `${body}\n\n${reference}`;
}

/**
 * `reconcile` by looking the effect up (`lookup`): when the lookup itself
 * fails, the state stays `unknown`, with the reason (secrets redacted).
 */
export async function reconcileByLookup(
  where: string,
  redactor: SecretRedactor,
  lookup: () => Promise<Reconciliation>,
): Promise<Reconciliation> {
  try {
    return await lookup();
  } catch (error) {
    return {
      state: 'unknown',
      error: toConnectorError(error, `${where} (reconcile)`, (text) => redactor.redact(text)),
    };
  }
}

/** A create's ticket as found by its mark: `done` with it, `not_done` when there is none. */
export function createdTicket(found: ConnectorResult | undefined): Reconciliation {
  return found === undefined ? { state: 'not_done' } : { state: 'done', result: found };
}
