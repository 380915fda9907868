import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { YAMLParseError, parse } from 'yaml';
import type { AtlasDataSet, AtlasDataSetTechnique } from '../core/atlas-techniques.js';
import { WardenError } from '../core/errors.js';
import { readIfExists } from './yaml-source.js';

/**
 * The public MITRE ATLAS data set (`dist/ATLAS.yaml` of mitre-atlas/atlas-data),
 * imported by `warden atlas import` into a compact `atlas.json` in the data
 * directory. Warden reads technique names and descriptions from it when it
 * is there; without it, Warden's shipped table (`core/atlas-techniques.ts`)
 * is used.
 */

/** The file the import writes in the data directory. */
export const ATLAS_DATA_FILE = 'atlas.json';

// The id patterns of ATLAS's own output schema (atlas_output_schema.json).
const TACTIC_ID = /^(?:[A-Z]+\d*\.)+TA\d{4}$/;
const TECHNIQUE_ID = /^(?:[A-Z]+\d*\.)+T\d{4}$/;
const SUBTECHNIQUE_ID = /^(?:[A-Z]+\d*\.)+T\d{4}\.\d{3}$/;

const EXPECTED =
  'expected dist/ATLAS.yaml of mitre-atlas/atlas-data: a mapping with id, name, version and matrices';

type Fail = (where: string, problem: string) => never;

function failureFor(file: string): Fail {
  return (where, problem) => {
    const message = where === '' ? `${file}: ${problem}` : `${file}: ${where} ${problem}`;
    throw new WardenError('invalid_config', message, { details: { file } });
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeValue(value: unknown): string {
  if (value === undefined || value === null) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return JSON.stringify(value);
}

function text(record: Record<string, unknown>, key: string, where: string, fail: Fail): string {
  const value = record[key];
  if (typeof value !== 'string' || value.trim() === '') {
    fail(where, `"${key}" must be a non-empty string (got ${describeValue(value)})`);
  }
  return value.trim();
}

function list(record: Record<string, unknown>, key: string, where: string, fail: Fail): unknown[] {
  const value = record[key];
  if (!Array.isArray(value)) fail(where, `"${key}" must be a list (got ${describeValue(value)})`);
  return value;
}

/**
 * Validates the text of an ATLAS.yaml and reduces it to Warden's compact data
 * set. Techniques are merged across matrices; a sub-technique takes its
 * parent's tactics, as ATLAS defines. Pure: `file` only names the source in
 * errors.
 */
export function parseAtlasYaml(source: string, file: string): AtlasDataSet {
  const fail: Fail = failureFor(file);
  let data: unknown;
  try {
    // ATLAS.yaml has no aliases to speak of; the limit guards against an alias bomb.
    data = parse(source, { maxAliasCount: 100 });
  } catch (error) {
    if (!(error instanceof YAMLParseError)) throw error;
    const at = error.linePos?.[0];
    const where = at ? `${at.line}:${at.col}: ` : '';
    const reason = (error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
    fail('', `${where}invalid YAML: ${reason}`);
  }
  if (!isRecord(data)) fail('', `is not ATLAS data (${EXPECTED}; got ${describeValue(data)})`);
  if (!('matrices' in data)) fail('', `is not ATLAS data: it has no "matrices" (${EXPECTED})`);
  const version = data.version;
  if (typeof version !== 'string' && typeof version !== 'number') {
    fail('', `"version" must be a string or a number (got ${describeValue(version)})`);
  }
  const matrices = list(data, 'matrices', '', fail);
  if (matrices.length === 0) fail('', '"matrices" is empty: the file holds no ATLAS matrix');

  const tactics: AtlasDataSet['tactics'] = {};
  const techniques = new Map<string, AtlasDataSetTechnique & { where: string }>();
  matrices.forEach((matrix, m) => {
    const at = `matrices[${m}]`;
    if (!isRecord(matrix)) fail(at, `must be a mapping (got ${describeValue(matrix)})`);
    list(matrix, 'tactics', at, fail).forEach((tactic, t) => {
      const where = `${at}.tactics[${t}]`;
      if (!isRecord(tactic)) fail(where, `must be a mapping (got ${describeValue(tactic)})`);
      const id = text(tactic, 'id', where, fail);
      if (!TACTIC_ID.test(id)) fail(where, `"id" ${id} is not an ATLAS tactic id (AML.TA0005)`);
      tactics[id] ??= {
        name: text(tactic, 'name', `${where} (${id})`, fail),
        description: text(tactic, 'description', `${where} (${id})`, fail),
      };
    });
    list(matrix, 'techniques', at, fail).forEach((technique, t) => {
      const entry = readTechnique(technique, `${at}.techniques[${t}]`, fail);
      const seen = techniques.get(entry.id);
      if (!seen) {
        techniques.set(entry.id, entry.technique);
        return;
      }
      // One technique may sit in several matrices: the same name, tactics merged.
      if (seen.name !== entry.technique.name) {
        fail(entry.technique.where, `repeats ${entry.id} of ${seen.where} with another name`);
      }
      seen.tactics = [...new Set([...seen.tactics, ...entry.technique.tactics])];
    });
  });
  if (techniques.size === 0) fail('', 'holds no techniques in any matrix');

  const result: AtlasDataSet['techniques'] = {};
  for (const [id, { where, ...technique }] of techniques) {
    let ownTactics = technique.tactics;
    if (technique.subtechniqueOf !== undefined) {
      const parent = techniques.get(technique.subtechniqueOf);
      if (!parent) {
        fail(
          `${where} (${id})`,
          `is a sub-technique of ${technique.subtechniqueOf}, which the file lacks`,
        );
      }
      if (ownTactics.length === 0) ownTactics = parent.tactics;
    }
    for (const tactic of ownTactics) {
      if (!(tactic in tactics))
        fail(`${where} (${id})`, `names tactic ${tactic}, which the file lacks`);
    }
    result[id] = { ...technique, tactics: ownTactics };
  }
  return { version: String(version), techniques: result, tactics };
}

function readTechnique(
  value: unknown,
  where: string,
  fail: Fail,
): { id: string; technique: AtlasDataSetTechnique & { where: string } } {
  if (!isRecord(value)) fail(where, `must be a mapping (got ${describeValue(value)})`);
  const id = text(value, 'id', where, fail);
  const at = `${where} (${id})`;
  const isSub = SUBTECHNIQUE_ID.test(id);
  if (!isSub && !TECHNIQUE_ID.test(id)) {
    fail(where, `"id" ${id} is not an ATLAS technique id (AML.T0051 or AML.T0051.000)`);
  }
  const technique: AtlasDataSetTechnique & { where: string } = {
    name: text(value, 'name', at, fail),
    description: text(value, 'description', at, fail),
    tactics: [],
    where,
  };
  if (isSub) {
    const parent = text(value, 'subtechnique-of', at, fail);
    if (!id.startsWith(`${parent}.`)) fail(at, `"subtechnique-of" ${parent} is not its parent id`);
    technique.subtechniqueOf = parent;
  }
  // A sub-technique's tactics are its parent's; a top-level technique must name its own.
  if (!isSub || value.tactics !== undefined) {
    technique.tactics = list(value, 'tactics', at, fail).map((tactic, index) => {
      if (typeof tactic !== 'string' || !TACTIC_ID.test(tactic)) {
        fail(at, `"tactics[${index}]" must be an ATLAS tactic id (got ${describeValue(tactic)})`);
      }
      return tactic;
    });
  }
  return { id, technique };
}

/** The imported data set, or undefined when `dataDir` holds none. */
export function loadImportedAtlas(dataDir: string): AtlasDataSet | undefined {
  const path = join(dataDir, ATLAS_DATA_FILE);
  const source = readIfExists(path);
  if (source === undefined) return undefined;
  const broken: (problem: string) => never = (problem) => {
    throw new WardenError(
      'invalid_config',
      `${path}: ${problem}; run "warden atlas import ATLAS.yaml" again to rewrite it`,
      { details: { file: path } },
    );
  };
  let data: unknown;
  try {
    data = JSON.parse(source);
  } catch (error) {
    broken(`is not valid JSON (${(error as Error).message})`);
  }
  if (
    !isRecord(data) ||
    typeof data.version !== 'string' ||
    !isRecord(data.techniques) ||
    !isRecord(data.tactics)
  ) {
    broken('is not an imported ATLAS data set (version, techniques, tactics)');
  }
  for (const [id, technique] of Object.entries(data.techniques)) {
    if (
      !isRecord(technique) ||
      typeof technique.name !== 'string' ||
      typeof technique.description !== 'string' ||
      !Array.isArray(technique.tactics)
    ) {
      broken(`technique ${id} is not a name, description and tactics`);
    }
  }
  return data as unknown as AtlasDataSet;
}

export interface AtlasImport {
  dataSet: AtlasDataSet;
  /** Where the compact data set was written. */
  path: string;
}

/**
 * Reads and validates an ATLAS.yaml and writes `atlas.json` into `dataDir`,
 * replacing an earlier import only once the new one is complete.
 */
export function importAtlasFile(file: string, dataDir: string): AtlasImport {
  const source = readIfExists(file);
  if (source === undefined) {
    throw new WardenError('invalid_config', `${file}: no such file`, { details: { file } });
  }
  const dataSet = parseAtlasYaml(source, file);
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, ATLAS_DATA_FILE);
  const partial = `${path}.${process.pid}.tmp`;
  writeFileSync(partial, `${JSON.stringify(dataSet)}\n`);
  renameSync(partial, path);
  return { dataSet, path };
}
