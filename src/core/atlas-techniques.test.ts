import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ALERT_TYPES } from './alert.js';
import { atlasTechniquesFor, isAtlasTechniqueId } from './atlas.js';
import {
  atlasTactics,
  atlasTechnique,
  atlasTechniqueIn,
  shippedAtlasTechniques,
  type AtlasDataSet,
} from './atlas-techniques.js';

const SOURCES_DIR = fileURLToPath(new URL('../sources/', import.meta.url));

/**
 * Every technique id written in a source format's code: the ids it emits and
 * those it recognises. Read from the files so a new adapter cannot forget the table.
 */
function idsInSourceFormats(): Map<string, string> {
  const ids = new Map<string, string>();
  for (const name of readdirSync(SOURCES_DIR)) {
    if (!name.endsWith('.ts') || name.endsWith('.test.ts') || name.endsWith('.contract.ts')) {
      continue;
    }
    const text = readFileSync(`${SOURCES_DIR}${name}`, 'utf8');
    for (const [id] of text.matchAll(/\bAML\.T\d{4}(?:\.\d{3})?\b/g)) ids.set(id, name);
  }
  return ids;
}

describe('the shipped ATLAS table', () => {
  it('names every default technique of every alert type', () => {
    for (const type of ALERT_TYPES) {
      for (const id of atlasTechniquesFor(type, [])) {
        expect(atlasTechnique(id), `${type} → ${id}`).toBeDefined();
      }
    }
  });

  it('names every technique a source format emits or recognises', () => {
    const ids = idsInSourceFormats();
    // The adapters named in the brief, so an empty scan cannot pass unnoticed.
    for (const id of ['AML.T0051.000', 'AML.T0051.001', 'AML.T0057', 'AML.T0034', 'AML.T0110']) {
      expect(ids.has(id), id).toBe(true);
    }
    for (const [id, file] of ids) {
      expect(atlasTechnique(id), `${id} in src/sources/${file}`).toBeDefined();
    }
  });

  it('holds well-formed ids with at least one known tactic, parents before sub-techniques', () => {
    const tacticIds = new Set(atlasTactics().map((tactic) => tactic.id));
    const seen = new Set<string>();
    for (const technique of shippedAtlasTechniques()) {
      expect(isAtlasTechniqueId(technique.id), technique.id).toBe(true);
      expect(technique.tactics.length, technique.id).toBeGreaterThan(0);
      for (const tactic of technique.tactics) expect(tacticIds.has(tactic.id)).toBe(true);
      if (technique.subtechniqueOf !== undefined) {
        expect(technique.id.startsWith(`${technique.subtechniqueOf}.`)).toBe(true);
        expect(seen.has(technique.subtechniqueOf)).toBe(true);
      }
      seen.add(technique.id);
    }
  });

  it('gives a sub-technique its parent in the title and its parent tactics', () => {
    expect(atlasTechnique('AML.T0051.000')).toEqual({
      id: 'AML.T0051.000',
      name: 'Direct',
      title: 'LLM Prompt Injection: Direct',
      subtechniqueOf: 'AML.T0051',
      tactics: [{ id: 'AML.TA0005', name: 'Execution' }],
    });
    expect(atlasTechnique('AML.T0054')).toMatchObject({
      title: 'LLM Jailbreak',
      tactics: [
        { id: 'AML.TA0012', name: 'Privilege Escalation' },
        { id: 'AML.TA0007', name: 'Defense Evasion' },
      ],
    });
    expect(atlasTechnique('AML.T0054')?.description).toBeUndefined();
  });

  it('knows nothing of ids Warden does not map to', () => {
    expect(atlasTechnique('AML.T0000')).toBeUndefined();
    expect(atlasTechnique('T1059')).toBeUndefined();
  });

  it('cannot be changed through a lookup', () => {
    const technique = atlasTechnique('AML.T0051');
    expect(Object.isFrozen(technique)).toBe(true);
    expect(Object.isFrozen(technique?.tactics)).toBe(true);
  });
});

describe('atlasTechniqueIn', () => {
  const dataSet: AtlasDataSet = {
    version: '9.9.0',
    tactics: { 'AML.TA0005': { name: 'Execution', description: 'Run code.' } },
    techniques: {
      'AML.T0051': {
        name: 'LLM Prompt Injection',
        description: 'Crafted prompts.',
        tactics: ['AML.TA0005'],
      },
      'AML.T0051.002': {
        name: 'Triggered',
        description: 'Injected on a trigger.',
        tactics: ['AML.TA0005'],
        subtechniqueOf: 'AML.T0051',
      },
    },
  };

  it('resolves tactic names and the sub-technique title from the data set', () => {
    expect(atlasTechniqueIn(dataSet, 'AML.T0051.002')).toEqual({
      id: 'AML.T0051.002',
      name: 'Triggered',
      title: 'LLM Prompt Injection: Triggered',
      subtechniqueOf: 'AML.T0051',
      tactics: [{ id: 'AML.TA0005', name: 'Execution' }],
      description: 'Injected on a trigger.',
    });
    expect(atlasTechniqueIn(dataSet, 'AML.T0054')).toBeUndefined();
  });
});
