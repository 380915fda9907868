import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { APPROVER_ROLES } from '../core/access.js';
import { ALERT_TYPES } from '../core/alert.js';
import { CASE_PHASES, CLOSURE_REASONS } from '../core/case.js';
import { CONTAINMENT_INTENTS } from '../core/containment-policy.js';
import { ERROR_MESSAGES_KEYWORD, PLAYBOOK_SCHEMA } from './playbook-schema.js';

const TESTDATA = fileURLToPath(new URL('./testdata', import.meta.url));

/** A plain 2020-12 validator, as an editor would use the published schema. */
function editorValidator() {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  return ajv.compile(JSON.parse(JSON.stringify(PLAYBOOK_SCHEMA)) as object);
}

type Json = Record<string, unknown>;
const at = (schema: unknown, ...path: string[]): Json =>
  path.reduce<Json>((node, key) => node[key] as Json, schema as Json);

describe('PLAYBOOK_SCHEMA', () => {
  it('is a valid draft 2020-12 schema', () => {
    // The loader's options, with type strictness an error rather than a log line.
    const ajv = new Ajv2020({ allowUnionTypes: true, strictTypes: true, strictTuples: true });
    ajv.addKeyword({ keyword: ERROR_MESSAGES_KEYWORD, schemaType: 'object' });
    expect(ajv.validateSchema(PLAYBOOK_SCHEMA)).toBe(true);
    expect(() => ajv.compile(PLAYBOOK_SCHEMA)).not.toThrow();
    expect(PLAYBOOK_SCHEMA.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(Object.isFrozen(at(PLAYBOOK_SCHEMA, '$defs', 'step', 'properties'))).toBe(true);
  });

  it('accepts the sample playbooks without Warden-specific keywords', () => {
    const validate = editorValidator();
    const files = readdirSync(TESTDATA).filter((name) => name.endsWith('.yaml'));
    expect(files).toHaveLength(3);
    for (const name of files) {
      const ok = validate(parse(readFileSync(join(TESTDATA, name), 'utf8')));
      expect(validate.errors ?? [], name).toEqual([]);
      expect(ok).toBe(true);
    }
  });

  it('takes its vocabularies from the core', () => {
    const step = at(PLAYBOOK_SCHEMA, '$defs', 'step', 'properties');
    expect(
      at(PLAYBOOK_SCHEMA, 'properties', 'trigger', 'properties', 'types', 'items').enum,
    ).toEqual(ALERT_TYPES);
    expect(at(step, 'act', 'properties', 'intent').enum).toEqual(CONTAINMENT_INTENTS);
    expect(at(step, 'approval', 'properties', 'approvers', 'items').enum).toEqual(APPROVER_ROLES);
    expect(at(step, 'case', 'properties', 'phase').enum).toEqual(CASE_PHASES);
    expect(at(step, 'case', 'properties', 'close', 'properties', 'reason').enum).toEqual(
      CLOSURE_REASONS,
    );
  });

  it('rejects a step with two kinds, and one with none', () => {
    const validate = editorValidator();
    const playbook = (step: Json): Json => ({
      id: 'x',
      version: 1,
      title: 't',
      owner: 'o',
      trigger: { types: ['other'] },
      steps: [step],
    });
    expect(validate(playbook({ id: 'a', goto: 'end' }))).toBe(true);
    expect(validate(playbook({ id: 'a', case: { phase: 'recovery' }, goto: 'end' }))).toBe(true);
    expect(
      validate(
        playbook({
          id: 'a',
          case: { phase: 'recovery' },
          notify: { connector: 'log', message: 'm' },
        }),
      ),
    ).toBe(false);
    expect(validate(playbook({ id: 'a', when: 'true' }))).toBe(false);
  });
});
