import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { WardenError } from '../core/errors.js';
import { registerAtlasCommand } from './atlas-command.js';

/** A cut-down ATLAS.yaml: one tactic, a technique and one of its sub-techniques. */
const ATLAS_YAML = `id: ATLAS
name: Adversarial Threat Landscape for AI Systems
version: 7.0.0
matrices:
- id: ATLAS
  name: ATLAS Matrix
  tactics:
  - id: AML.TA0005
    name: Execution
    description: The adversary is trying to run malicious code.
  techniques:
  - id: AML.T0051
    name: LLM Prompt Injection
    description: Malicious prompts.
    tactics: [AML.TA0005]
  - id: AML.T0051.000
    name: Direct
    description: 'The user injects the prompt directly.


      Second paragraph.'
    subtechnique-of: AML.T0051
`;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'warden-atlas-cli-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** Runs `warden atlas …` in-process and returns what it printed. */
async function atlas(...args: string[]): Promise<string> {
  const program = new Command('warden').exitOverride();
  registerAtlasCommand(program);
  let out = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  await program.parseAsync(['node', 'warden', 'atlas', ...args]);
  return out;
}

describe('warden atlas import', () => {
  it('imports the data set and names the shipped techniques it lacks', async () => {
    const file = join(dir, 'ATLAS.yaml');
    writeFileSync(file, ATLAS_YAML);
    const data = join(dir, 'imported');
    const out = await atlas('import', file, '--data', data);
    expect(out).toContain(
      `imported ATLAS v7.0.0: 2 techniques, 1 tactics into ${join(data, 'atlas.json')}\n`,
    );
    expect(out).toMatch(/note: \d+ of Warden's techniques are not in this data set .*AML\.T0054/);
    expect(out).not.toMatch(/not in this data set.*AML\.T0051\.000/);
  });

  it('refuses a file that is not ATLAS data', async () => {
    const file = join(dir, 'policy.yaml');
    writeFileSync(file, 'types: {}\n');
    await expect(atlas('import', file, '--data', join(dir, 'x'))).rejects.toThrow(
      `${file}: is not ATLAS data: it has no "matrices"`,
    );
  });
});

describe('warden atlas show', () => {
  it('shows a technique from the shipped table when nothing was imported', async () => {
    const data = join(dir, 'empty');
    const out = await atlas('show', 'AML.T0054', '--data', data);
    expect(out).toBe(
      [
        'AML.T0054      LLM Jailbreak',
        'Tactics        Privilege Escalation (AML.TA0012), Defense Evasion (AML.TA0007)',
        `From           Warden's shipped table (ATLAS v5.6.0); no imported data set in ${data}; ` +
          '"warden atlas import ATLAS.yaml" adds descriptions',
        '',
      ].join('\n'),
    );
  });

  it('shows the imported technique with its description', async () => {
    const file = join(dir, 'ATLAS-show.yaml');
    writeFileSync(file, ATLAS_YAML);
    const data = join(dir, 'show');
    await atlas('import', file, '--data', data);
    const out = await atlas('show', 'AML.T0051.000', '--data', data);
    expect(out).toBe(
      [
        'AML.T0051.000  LLM Prompt Injection: Direct',
        'Tactics        Execution (AML.TA0005)',
        'Parent         AML.T0051',
        `From           imported ATLAS v7.0.0 (${join(data, 'atlas.json')})`,
        '',
        'Description    The user injects the prompt directly.',
        '',
        '               Second paragraph.',
        '',
      ].join('\n'),
    );
  });

  it('falls back to the shipped table for a technique the import lacks, saying so', async () => {
    const data = join(dir, 'show');
    const json = JSON.parse(await atlas('show', 'AML.T0029', '--data', data, '--json')) as {
      title: string;
      tactics: { id: string; name: string }[];
      from: string;
    };
    expect(json.title).toBe('Denial of AI Service');
    expect(json.tactics).toEqual([{ id: 'AML.TA0011', name: 'Impact' }]);
    expect(json.from).toContain("Warden's shipped table (ATLAS v5.6.0); not in the imported");
  });

  it('refuses an unknown id and a malformed one', async () => {
    const data = join(dir, 'empty');
    await expect(atlas('show', 'AML.T0000', '--data', data)).rejects.toThrow(
      /ATLAS technique AML\.T0000 is unknown/,
    );
    const malformed = atlas('show', 'T1059', '--data', data);
    await expect(malformed).rejects.toThrow(WardenError);
    await expect(malformed).rejects.toMatchObject({ code: 'invalid_field', field: 'ID' });
  });
});
