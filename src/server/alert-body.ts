import { WardenError } from '../core/errors.js';

export const NDJSON_TYPES = [
  'application/x-ndjson',
  'application/ndjson',
  'application/jsonl',
  'application/x-jsonlines',
] as const;

/** One alert payload from a request body. */
export interface BodyItem {
  index: number;
  /**
   * The text of the payload, when the body had it on its own: an NDJSON
   * line, or a JSON body that is one payload (not an array).
   */
  text?: string;
  /**
   * The payload, parsed on each call (NDJSON lines are parsed one at a time,
   * so a large body's payloads are never all alive at once); throws a
   * `WardenError` when this element alone cannot be parsed.
   */
  read(): unknown;
}

export function parseJsonText(text: string, where = 'request body'): unknown {
  if (text.trim() === '') throw new WardenError('empty_body', `${where} is empty`);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new WardenError(
      'malformed_json',
      `${where} is not valid JSON: ${(error as Error).message}`,
    );
  }
}

/**
 * A JSON body holds one alert or an array of them. `text`: the body as
 * received; a lone payload keeps it (verbatim, less the whitespace around it).
 */
export function itemsOfJson(parsed: unknown, text?: string): BodyItem[] {
  if (Array.isArray(parsed)) {
    if (parsed.length === 0) throw new WardenError('empty_body', 'request body is an empty array');
    return parsed.map((payload: unknown, index) => ({ index, read: () => payload }));
  }
  return [{ index: 0, ...(text === undefined ? {} : { text: text.trim() }), read: () => parsed }];
}

function ndjsonItem(index: number, lineNumber: number, text: string): BodyItem {
  return {
    index,
    text,
    read(): unknown {
      try {
        return JSON.parse(text) as unknown;
      } catch (error) {
        throw new WardenError(
          'malformed_json',
          `line ${lineNumber} is not valid JSON: ${(error as Error).message}`,
          { field: `[${index}]` },
        );
      }
    },
  };
}

/** NDJSON: one alert per non-blank line; a bad line is reported by its index, not fatal. */
export function itemsOfNdjson(text: string): BodyItem[] {
  const items: BodyItem[] = [];
  let lineNumber = 0;
  for (const line of text.split('\n')) {
    lineNumber += 1;
    if (line.trim() !== '') items.push(ndjsonItem(items.length, lineNumber, line));
  }
  if (items.length === 0) throw new WardenError('empty_body', 'request body has no alerts');
  return items;
}
