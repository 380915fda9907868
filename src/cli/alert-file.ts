import { readFileSync } from 'node:fs';
import { WardenError } from '../core/errors.js';

export interface FileItem {
  /** "file:line" (NDJSON) or "file[index]" (JSON array) for error messages. */
  where: string;
  text?: string;
  payload?: unknown;
  error?: string;
}

/** Alerts in a file: a JSON document (one alert or an array) or NDJSON. */
export function readAlertFile(path: string): FileItem[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new WardenError('invalid_field', `cannot read ${path}: ${(error as Error).message}`, {
      field: 'FILE',
    });
  }
  const trimmed = text.trimStart();
  if (trimmed === '') return [];
  if (trimmed.startsWith('[')) {
    const parsed = parseWhole(text, path);
    if (!Array.isArray(parsed))
      throw new WardenError('malformed_json', `${path}: expected a JSON array`);
    return parsed.map((payload: unknown, i) => ({ where: `${path}[${i}]`, payload }));
  }
  const lines = text.split('\n');
  const firstLine = lines.find((l) => l.trim() !== '') ?? '';
  if (!isJson(firstLine)) return [{ where: path, payload: parseWhole(text, path) }];
  const items: FileItem[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    items.push({ where: `${path}:${i + 1}`, text: line });
  });
  return items;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function parseWhole(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new WardenError(
      'malformed_json',
      `${path} is neither JSON nor NDJSON: ${(error as Error).message}`,
    );
  }
}

/** The payload of an item, parsing NDJSON lines lazily. */
export function payloadOf(item: FileItem): unknown {
  if (item.text === undefined) return item.payload;
  try {
    return JSON.parse(item.text);
  } catch (error) {
    throw new WardenError('malformed_json', `not valid JSON: ${(error as Error).message}`);
  }
}
