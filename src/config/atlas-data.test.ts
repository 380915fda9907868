import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WardenError } from '../core/errors.js';
import { importAtlasFile, loadImportedAtlas, parseAtlasYaml } from './atlas-data.js';

/** ATLAS.yaml's shape, cut down to two tactics, two techniques and a sub-technique. */
const SMALL_ATLAS_YAML = `---
id: ATLAS
name: Adversarial Threat Landscape for AI Systems
version: 9.1.0
matrices:
- id: ATLAS
  name: ATLAS Matrix
  tactics:
  - id: AML.TA0005
    name: Execution
    description: The adversary is trying to run malicious code.
    object-type: tactic
  - id: AML.TA0011
    name: Impact
    description: The adversary is trying to disrupt AI systems.
    object-type: tactic
  techniques:
  - id: AML.T0051
    name: LLM Prompt Injection
    description: 'An adversary may craft malicious prompts.


      Second paragraph.'
    object-type: technique
    tactics:
    - AML.TA0005
    maturity: realized
  - id: AML.T0051.000
    name: Direct
    description: Injected directly by the user.
    object-type: technique
    subtechnique-of: AML.T0051
  - id: AML.T0029
    name: Denial of AI Service
    description: Flood the model.
    object-type: technique
    tactics:
    - AML.TA0011
  mitigations: []
case-studies: []
`;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'warden-atlas-data-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function failure(source: string): WardenError {
  try {
    parseAtlasYaml(source, 'bad.yaml');
  } catch (error) {
    if (error instanceof WardenError) return error;
    throw error;
  }
  throw new Error('expected the file to be refused');
}

describe('parseAtlasYaml', () => {
  it('reduces ATLAS data to techniques and tactics, sub-techniques with their parent tactics', () => {
    const dataSet = parseAtlasYaml(SMALL_ATLAS_YAML, 'ATLAS.yaml');
    expect(dataSet.version).toBe('9.1.0');
    expect(Object.keys(dataSet.tactics)).toEqual(['AML.TA0005', 'AML.TA0011']);
    expect(dataSet.tactics['AML.TA0011']).toEqual({
      name: 'Impact',
      description: 'The adversary is trying to disrupt AI systems.',
    });
    expect(dataSet.techniques['AML.T0051']).toEqual({
      name: 'LLM Prompt Injection',
      description: 'An adversary may craft malicious prompts.\n\nSecond paragraph.',
      tactics: ['AML.TA0005'],
    });
    expect(dataSet.techniques['AML.T0051.000']).toEqual({
      name: 'Direct',
      description: 'Injected directly by the user.',
      tactics: ['AML.TA0005'],
      subtechniqueOf: 'AML.T0051',
    });
    expect(Object.keys(dataSet.techniques)).toHaveLength(3);
  });

  it('reads a numeric version as text', () => {
    expect(parseAtlasYaml(SMALL_ATLAS_YAML.replace('9.1.0', '4'), 'a.yaml').version).toBe('4');
  });

  it.each([
    [
      'a list',
      '- 1\n- 2\n',
      /^bad\.yaml: is not ATLAS data \(expected dist\/ATLAS\.yaml.*got a list\)/,
    ],
    ['an empty file', '', /^bad\.yaml: is not ATLAS data .*got nothing/],
    [
      'a mapping without matrices',
      'id: x\nname: y\nversion: 1\n',
      /is not ATLAS data: it has no "matrices"/,
    ],
    ['invalid YAML', 'matrices: [\n', /^bad\.yaml: \d+:\d+: invalid YAML: /],
  ])('refuses %s as not ATLAS data', (_what, source, message) => {
    const error = failure(source);
    expect(error.code).toBe('invalid_config');
    expect(error.message).toMatch(message);
    expect(error.details).toEqual({ file: 'bad.yaml' });
  });

  it.each([
    [
      'no version',
      (s: string) => s.replace('version: 9.1.0\n', ''),
      '"version" must be a string or a number (got nothing)',
    ],
    ['empty matrices', () => 'version: 1\nmatrices: []\n', '"matrices" is empty'],
    [
      'a matrix without techniques',
      (s: string) => s.replace(/ {2}techniques:[\s\S]*?(?= {2}mitigations)/, ''),
      'matrices[0] "techniques" must be a list (got nothing)',
    ],
    [
      'a bad tactic id',
      (s: string) => s.replace('- id: AML.TA0011', '- id: TA0011'),
      'matrices[0].tactics[1] "id" TA0011 is not an ATLAS tactic id',
    ],
    [
      'a technique without a name',
      (s: string) => s.replace('    name: Denial of AI Service\n', ''),
      'matrices[0].techniques[2] (AML.T0029) "name" must be a non-empty string (got nothing)',
    ],
    [
      'a technique without tactics',
      (s: string) => s.replace('    tactics:\n    - AML.TA0011\n', ''),
      'matrices[0].techniques[2] (AML.T0029) "tactics" must be a list (got nothing)',
    ],
    [
      'an unknown tactic',
      (s: string) =>
        s.replace('    - AML.TA0011\n  mitigations', '    - AML.TA0099\n  mitigations'),
      'names tactic AML.TA0099, which the file lacks',
    ],
    [
      'an orphan sub-technique',
      (s: string) =>
        s
          .replace('subtechnique-of: AML.T0051', 'subtechnique-of: AML.T0052')
          .replace('AML.T0051.000', 'AML.T0052.000'),
      'is a sub-technique of AML.T0052, which the file lacks',
    ],
    [
      'a sub-technique of another parent',
      (s: string) => s.replace('subtechnique-of: AML.T0051', 'subtechnique-of: AML.T0029'),
      '"subtechnique-of" AML.T0029 is not its parent id',
    ],
  ])('names the file and the problem for %s', (_what, edit, message) => {
    const error = failure(edit(SMALL_ATLAS_YAML));
    expect(error.code).toBe('invalid_config');
    expect(error.message).toMatch(/^bad\.yaml: /);
    expect(error.message).toContain(message);
  });

  it('merges a technique listed in two matrices', () => {
    const second = `- id: MORE
  name: Second matrix
  tactics: []
  techniques:
  - id: AML.T0029
    name: Denial of AI Service
    description: Flood the model.
    tactics:
    - AML.TA0005
`;
    const source = SMALL_ATLAS_YAML.replace('case-studies: []\n', '').concat(second);
    const dataSet = parseAtlasYaml(source, 'two.yaml');
    expect(dataSet.techniques['AML.T0029']?.tactics).toEqual(['AML.TA0011', 'AML.TA0005']);
  });
});

describe('importAtlasFile and loadImportedAtlas', () => {
  it('writes atlas.json into the data directory and reads it back', () => {
    const file = join(dir, 'ATLAS.yaml');
    writeFileSync(file, SMALL_ATLAS_YAML);
    const dataDir = join(dir, 'data');
    expect(loadImportedAtlas(dataDir)).toBeUndefined();

    const { dataSet, path } = importAtlasFile(file, dataDir);
    expect(path).toBe(join(dataDir, 'atlas.json'));
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(dataSet);
    expect(loadImportedAtlas(dataDir)).toEqual(dataSet);
  });

  it('leaves an earlier import in place when the new file is refused', () => {
    const dataDir = join(dir, 'kept');
    const good = join(dir, 'good.yaml');
    writeFileSync(good, SMALL_ATLAS_YAML);
    importAtlasFile(good, dataDir);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'id: not-atlas\n');
    expect(() => importAtlasFile(bad, dataDir)).toThrow(`${bad}: is not ATLAS data`);
    expect(loadImportedAtlas(dataDir)?.version).toBe('9.1.0');
  });

  it('names a missing file', () => {
    const missing = join(dir, 'nope.yaml');
    expect(() => importAtlasFile(missing, join(dir, 'never'))).toThrow(`${missing}: no such file`);
    expect(existsSync(join(dir, 'never'))).toBe(false);
  });

  it('refuses a damaged atlas.json, saying how to repair it', () => {
    const dataDir = join(dir, 'damaged');
    const good = join(dir, 'good2.yaml');
    writeFileSync(good, SMALL_ATLAS_YAML);
    const { path } = importAtlasFile(good, dataDir);
    writeFileSync(path, '{"version": "1"}');
    expect(() => loadImportedAtlas(dataDir)).toThrow(
      /atlas\.json: is not an imported ATLAS data set .*run "warden atlas import ATLAS\.yaml" again/,
    );
    writeFileSync(path, '{');
    expect(() => loadImportedAtlas(dataDir)).toThrow(/atlas\.json: is not valid JSON/);
  });
});
