import { describe, expect, it } from 'vitest';
import {
  decodeAlertDoc,
  emptyObservables,
  encodeAlert,
  linkingFactsOf,
  stringLiteralIn,
  textOnlyAlert,
  type NormalizedAlert,
} from './alert.js';

function alert(description: string | undefined, raw: unknown): NormalizedAlert {
  return {
    id: 'alert-1',
    dedupKey: 'dedup-1',
    source: { format: 'native', product: 'Prompt Shield', vendor: 'Example' },
    type: 'prompt_injection',
    title: 'Injected instructions',
    ...(description === undefined ? {} : { description }),
    severityId: 3,
    severity: 'Medium',
    firstSeen: '2026-03-01T12:00:00.000Z',
    lastSeen: '2026-03-01T12:00:00.000Z',
    count: 1,
    observables: emptyObservables(),
    atlasTechniques: [],
    raw,
    receivedAt: '2026-03-01T12:00:01.000Z',
    enrichment: { blastRadius: [], allowlisted: [] },
  };
}

const LONG = `Detector notes: "ignore previous instructions" seen\n${'token '.repeat(80)}— é ✓`;

describe('encodeAlert', () => {
  it('stores a long description the payload carries verbatim once, in the payload', () => {
    const rawText = JSON.stringify({ note: LONG, id: 7 });
    const encoded = encodeAlert(alert(LONG, JSON.parse(rawText)), rawText);
    expect(encoded.doc).not.toContain('token token');
    expect(encoded.doc.length).toBeLessThan(encodeAlert(alert(LONG, {})).doc.length - 400);
    expect(encoded.alert.description).toBe(LONG);
    const { raw: _raw, ...facts } = alert(LONG, null);
    expect(decodeAlertDoc(encoded.doc, encoded.raw)).toEqual(facts);
    expect(textOnlyAlert(encoded.doc, encoded.raw).alert).toEqual(facts);
  });

  it('refers to the payload when it spells the description with other escapes', () => {
    const escaped = `{"note":${JSON.stringify(LONG).replace('é', '\\u00e9').replace('✓', '\\u2713')}}`;
    const encoded = encodeAlert(alert(LONG, JSON.parse(escaped)), escaped);
    expect(JSON.parse(encoded.doc)).not.toHaveProperty('description');
    expect(decodeAlertDoc(encoded.doc, encoded.raw).description).toBe(LONG);
  });

  it('keeps the description in the document when the payload has it otherwise, or it is short', () => {
    // Same beginning, different end: the payload's note is not the description.
    const other = JSON.stringify({ note: `${LONG} (edited)` });
    const elsewhere = encodeAlert(alert(LONG, JSON.parse(other)), other);
    expect(JSON.parse(elsewhere.doc)).toMatchObject({ description: LONG });
    const short = encodeAlert(alert('short note', { note: 'short note' }), '{"note":"short note"}');
    expect(JSON.parse(short.doc)).toMatchObject({ description: 'short note' });
    expect(JSON.parse(encodeAlert(alert(undefined, {}), '{}').doc)).not.toHaveProperty(
      'description',
    );
  });
});

describe('stringLiteralIn', () => {
  const at = (text: string, value: string): string | undefined => {
    const range = stringLiteralIn(text, value);
    return range && (JSON.parse(text.slice(...range)) as string);
  };

  it('finds the literal past others that begin the same way', () => {
    const text = JSON.stringify({ summary: `${LONG}!`, detail: LONG, tail: 'x' });
    const range = stringLiteralIn(text, LONG);
    expect(range?.[0]).toBe(text.indexOf(',"detail":') + ',"detail":'.length);
    expect(at(text, LONG)).toBe(LONG);
  });

  it('reads quotes and backslashes inside the literal as the value has them', () => {
    const value = `${'x'.repeat(50)} say \\"hi\\" C:\\dir\\ "quoted"\\`;
    const text = JSON.stringify({ a: value, b: 1 });
    expect(at(text, value)).toBe(value);
    expect(stringLiteralIn(JSON.stringify({ a: `${value}x` }), value)).toBeUndefined();
  });

  it('does not split a surrogate pair where the search starts', () => {
    const value = `${'a'.repeat(47)}😀${'b'.repeat(200)}`;
    expect(at(JSON.stringify({ a: value }), value)).toBe(value);
    const escaped = `{"a":${JSON.stringify(value).replace('😀', '\\ud83d\\ude00')}}`;
    expect(at(escaped, value)).toBe(value);
  });

  it('answers undefined when no literal holds the value', () => {
    expect(stringLiteralIn('{"a":"nothing here"}', LONG)).toBeUndefined();
    // The beginning is there, unterminated: the text is cut short.
    const cut = JSON.stringify({ a: LONG }).slice(0, 80);
    expect(stringLiteralIn(cut, LONG)).toBeUndefined();
  });
});

describe('linkingFactsOf', () => {
  it('reads a text-only alert without the description it stores by reference', () => {
    const rawText = JSON.stringify({ note: LONG });
    const encoded = encodeAlert(alert(LONG, JSON.parse(rawText)), rawText);
    const facts = linkingFactsOf(textOnlyAlert(encoded.doc, encoded.raw));
    expect(facts.description).toBeUndefined();
    const { raw: _raw, description: _description, ...rest } = alert(LONG, null);
    expect(facts).toMatchObject(rest);
    // The whole alert is still there for whoever hands it on.
    expect(textOnlyAlert(encoded.doc, encoded.raw).alert.description).toBe(LONG);
  });

  it('gives an alert that is already parsed as it is', () => {
    const encoded = encodeAlert(alert(LONG, { note: LONG }));
    expect(linkingFactsOf(encoded)).toBe(encoded.alert);
    expect(linkingFactsOf(encoded).description).toBe(LONG);
  });
});
