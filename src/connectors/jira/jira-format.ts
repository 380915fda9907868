import { createHash } from 'node:crypto';
import { oneLineSummary, withReference, type CaseLink } from '../case-ticket.js';
import type { JsonValue } from '../connector.js';

/**
 * What Jira needs besides HTTP: the reconcile label, summaries Jira
 * accepts, and descriptions and comments as Atlassian Document Format (API
 * v3) or plain text (API v2, Data Center). Severities and the case link are
 * the ticketing connectors' own (case-ticket.ts).
 */

export {
  SEVERITY_INPUT_SCHEMA,
  WARDEN_SEVERITIES,
  caseLink,
  toWardenSeverity,
  type CaseLink,
  type WardenSeverity,
} from '../case-ticket.js';

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
  return oneLineSummary(title, SUMMARY_MAX);
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
  if (link === undefined) return text.trim();
  return withReference(text, link.href === undefined ? link.text : `[${link.text}|${link.href}]`);
}
