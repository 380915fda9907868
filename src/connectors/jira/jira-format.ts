import { createHash } from 'node:crypto';
import { SEVERITY_LABELS, type SeverityLabel } from '../../core/alert.js';
import type { JsonValue } from '../connector.js';

/**
 * What Jira needs besides HTTP: Warden severities, the reconcile label,
 * summaries Jira accepts, and descriptions and comments as Atlassian
 * Document Format (API v3) or plain text (API v2, Data Center).
 */

/** A Warden (OCSF) severity in lower case, the keys of `priority_map`. */
export type WardenSeverity = Lowercase<SeverityLabel>;

export const WARDEN_SEVERITIES: readonly WardenSeverity[] = SEVERITY_LABELS.map(
  (label) => label.toLowerCase() as WardenSeverity,
);

/** Accepts `high` as well as `High`, which is what `${{ case.severity }}` gives. */
export const SEVERITY_INPUT_SCHEMA = {
  enum: [...WARDEN_SEVERITIES, ...SEVERITY_LABELS],
  description: "Warden severity, e.g. '${{ case.severity }}' (High) or high",
} as const;

export function toWardenSeverity(text: string): WardenSeverity | undefined {
  const lower = text.trim().toLowerCase();
  return (WARDEN_SEVERITIES as readonly string[]).includes(lower)
    ? (lower as WardenSeverity)
    : undefined;
}

/**
 * The label that marks the issue one call created, so `reconcile` can find
 * it: Jira labels cannot contain spaces and stop at 255 characters, and the
 * idempotency key may hold anything, so the label carries a hash of it.
 */
export function callLabel(idempotencyKey: string): string {
  const hash = createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 32);
  return `warden-call-${hash}`;
}

/** Jira's summary is one line of at most 255 characters. */
export const SUMMARY_MAX = 255;

export function summaryLine(title: string): string {
  const line = title.replace(/\s+/g, ' ').trim();
  return line.length <= SUMMARY_MAX ? line : `${line.slice(0, SUMMARY_MAX - 1)}…`;
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

type AdfNode = { [key: string]: JsonValue };

/**
 * Plain text as an ADF document: blank lines separate paragraphs, single
 * line breaks become hard breaks, and `link` (if any) is a last paragraph.
 * ADF rejects empty text nodes, so empty lines and paragraphs are dropped.
 */
export function adfDocument(text: string, link?: CaseLink): AdfNode {
  const content: AdfNode[] = [];
  for (const block of text.split(/\r?\n[ \t]*\r?\n/)) {
    const lines = block.split(/\r?\n/).filter((line) => line.trim() !== '');
    if (lines.length === 0) continue;
    const inline: AdfNode[] = [];
    lines.forEach((line, index) => {
      if (index > 0) inline.push({ type: 'hardBreak' });
      inline.push({ type: 'text', text: line });
    });
    content.push({ type: 'paragraph', content: inline });
  }
  if (link !== undefined) {
    const node: AdfNode = { type: 'text', text: link.text };
    if (link.href !== undefined) node.marks = [{ type: 'link', attrs: { href: link.href } }];
    content.push({ type: 'paragraph', content: [node] });
  }
  return { type: 'doc', version: 1, content };
}

/** The same for API v2 (Data Center), whose fields are wiki-markup text. */
export function wikiText(text: string, link?: CaseLink): string {
  const body = text.trim();
  if (link === undefined) return body;
  const reference = link.href === undefined ? link.text : `[${link.text}|${link.href}]`;
  return body === '' ? reference : `${body}\n\n${reference}`;
}
