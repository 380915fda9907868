import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WardenError } from '../core/errors.js';
import {
  SecretRedactor,
  loadSecretSource,
  resolveSecretReferences,
  staticSecretSource,
} from './secrets.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function secretsFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'warden-secrets-'));
  dirs.push(dir);
  const path = join(dir, 'secrets.yaml');
  writeFileSync(path, text);
  return path;
}

function loadError(text: string): WardenError {
  try {
    loadSecretSource({ file: secretsFile(text) });
  } catch (error) {
    if (error instanceof WardenError) return error;
    throw error;
  }
  throw new Error('expected an invalid_config error');
}

describe('loadSecretSource', () => {
  it('reads WARDEN_SECRET_<NAME> from the environment passed in', () => {
    const source = loadSecretSource({
      env: { WARDEN_SECRET_TI_TOKEN: 'from-env', TI_TOKEN: 'not-this' },
    });
    expect(source.get('TI_TOKEN')).toBe('from-env');
    expect(source.get('OTHER')).toBeUndefined();
  });

  it('reads the secrets file; the environment wins; empty values count as unset', () => {
    const file = secretsFile('secrets:\n  TI_TOKEN: "from-file"\n  PD_KEY: "pd-file"\n');
    const source = loadSecretSource({
      file,
      env: { WARDEN_SECRET_PD_KEY: 'pd-env', WARDEN_SECRET_TI_TOKEN: '' },
    });
    expect(source.get('TI_TOKEN')).toBe('from-file');
    expect(source.get('PD_KEY')).toBe('pd-env');
    expect(source.whereToSet('X')).toBe(`set WARDEN_SECRET_X or add X under secrets: in ${file}`);
  });

  it('falls back to further files in order, after the environment and the main file', () => {
    const data = secretsFile('secrets:\n  TI_TOKEN: "data"\n');
    const config = secretsFile('secrets:\n  TI_TOKEN: "config"\n  VT_KEY: "demo-vt"\n');
    const source = loadSecretSource({
      file: data,
      fallbackFiles: [config, join(tmpdir(), 'warden-no-such-dir', 'secrets.yaml')],
      env: { WARDEN_SECRET_VT_KEY: '' },
    });
    expect(source.get('TI_TOKEN')).toBe('data');
    expect(source.get('VT_KEY')).toBe('demo-vt');
    expect(source.get('NONE')).toBeUndefined();
  });

  it('treats a missing file as holding no secrets', () => {
    const source = loadSecretSource({ file: join(tmpdir(), 'warden-no-such-dir', 'secrets.yaml') });
    expect(source.get('TI_TOKEN')).toBeUndefined();
  });

  it('rejects a non-string value with its position and without printing it', () => {
    const error = loadError('secrets:\n  TI_TOKEN: 8675309\n');
    expect(error.message).toMatch(
      /secrets\.yaml:2:13: secrets\.TI_TOKEN must be a non-empty string \(quote it\)/,
    );
    expect(error.message).not.toContain('8675309');
  });

  it('rejects a YAML syntax error without printing the text', () => {
    const error = loadError('secrets:\n  TI_TOKEN: "hunter2-unterminated\n');
    expect(error.code).toBe('invalid_config');
    expect(error.message).toMatch(/secrets\.yaml:\d+:\d+: invalid YAML/);
    expect(error.message).not.toContain('hunter2');
  });

  it.each([
    ['a lower-case name', 'secrets:\n  ti_token: "x"\n', /:2:3: secrets: names must match/],
    ['a list', 'secrets:\n  - "x"\n', /secrets must be a mapping/],
    ['an unknown top-level key', 'tokens:\n  A: "x"\n', /tokens is not a known key/],
  ])('rejects %s', (_what, text, message) => {
    expect(loadError(text).message).toMatch(message);
  });
});

describe('resolveSecretReferences', () => {
  const source = staticSecretSource({ TI_TOKEN: 's3cr3t', OTHER: 'o' });

  it('replaces each reference and reports the secrets used', () => {
    const resolved = resolveSecretReferences('Bearer ${secret:TI_TOKEN}/${secret:OTHER}', source);
    expect(resolved).toEqual({
      ok: true,
      value: 'Bearer s3cr3t/o',
      used: new Map([
        ['TI_TOKEN', 's3cr3t'],
        ['OTHER', 'o'],
      ]),
    });
    expect(resolveSecretReferences('plain', source)).toMatchObject({ ok: true, value: 'plain' });
  });

  it.each([
    ['${env:HOME}', 'uses ${env:HOME}: only ${secret:NAME} references are supported'],
    ['${secret:ti_token}', 'secret names must match'],
    [
      '${secret:MISSING}',
      "references secret MISSING, which is not set (add MISSING to the test's secrets)",
    ],
  ])('rejects %s', (text, problem) => {
    const resolved = resolveSecretReferences(text, source);
    expect(resolved.ok).toBe(false);
    if (!resolved.ok) expect(resolved.problem).toContain(problem);
  });
});

describe('SecretRedactor', () => {
  it('redacts a secret URL in the form a parsed URL prints it', () => {
    const redactor = new SecretRedactor(['https://HOOKS.example.com:443/services/T1/B1/tok en']);
    const printed = new URL('https://HOOKS.example.com:443/services/T1/B1/tok en').href;
    expect(printed).toBe('https://hooks.example.com/services/T1/B1/tok%20en');
    expect(redactor.redact(`POST ${printed}`)).toBe('POST [redacted]');
  });

  it('replaces secret values as written and URL-encoded, longest first', () => {
    const redactor = new SecretRedactor(['a+b/c', 'a+b/c-longer', '']);
    expect(redactor.redact('x a+b/c-longer y a%2Bb%2Fc z')).toBe('x [redacted] y [redacted] z');
    expect(redactor.redact('nothing here')).toBe('nothing here');
  });
});
