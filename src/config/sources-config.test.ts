import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { staticSecretSource } from '../connectors/secrets.js';
import { WardenError } from '../core/errors.js';
import { loadSourcesConfig } from './sources-config.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const secrets = staticSecretSource({ SIEM_TOKEN: 'tok-123' });

function configDir(text?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'warden-sources-'));
  dirs.push(dir);
  if (text !== undefined) writeFileSync(join(dir, 'sources.yaml'), text);
  return dir;
}

function loadError(text: string): WardenError {
  try {
    loadSourcesConfig(configDir(text), secrets);
  } catch (error) {
    if (error instanceof WardenError) return error;
    throw error;
  }
  throw new Error('expected an error');
}

describe('loadSourcesConfig', () => {
  it('is undefined without sources.yaml', () => {
    expect(loadSourcesConfig(configDir(), secrets)).toBeUndefined();
  });

  it('reads pollers and watchers with defaults, secrets resolved', () => {
    const dir = configDir(`
pollers:
  - name: siem
    url: https://siem.example/api/alerts
    interval: 30s
    headers: { Authorization: "Bearer \${secret:SIEM_TOKEN}" }
    cursor: { param: since, response_field: next_cursor }
    items: data.alerts
    source: GuardDuty
    context: { model: support-bot }
watchers:
  - name: garak-reports
    directory: reports
    pattern: '*.jsonl'
`);
    const config = loadSourcesConfig(dir, secrets);
    expect(config?.pollers[0]).toEqual({
      name: 'siem',
      url: 'https://siem.example/api/alerts',
      intervalMs: 30_000,
      timeoutMs: 30_000,
      headers: { Authorization: 'Bearer tok-123' },
      cursor: { param: 'since', responseField: 'next_cursor' },
      items: 'data.alerts',
      source: 'guardduty',
      context: { model: 'support-bot' },
    });
    expect(config?.watchers[0]).toEqual({
      name: 'garak-reports',
      directory: join(dir, 'reports'),
      patterns: ['*.jsonl'],
      intervalMs: 5000,
      context: {},
    });
    expect(Object.isFrozen(config?.pollers[0]?.headers)).toBe(true);
  });

  it('points at the file, line and column of a mistake', () => {
    const unknownKey = loadError(
      'pollers:\n  - name: a\n    url: https://x.example\n    intervl: 5s\n',
    );
    expect(unknownKey.message).toMatch(
      /sources\.yaml:4:5: pollers\[0\]\.intervl is not a known key/,
    );
    expect(loadError('watchers:\n  - { name: a, directory: /x, source: nope }\n').message).toMatch(
      /sources\.yaml:2:39: watchers\[0\]\.source is not a known format; known formats: ocsf/,
    );
    expect(
      loadError('pollers:\n  - { name: a, url: "https://x.example", cursor: { param: p } }\n')
        .message,
    ).toMatch(/pollers\[0\]\.cursor needs exactly one of response_field/);
    expect(
      loadError(
        'pollers:\n  - { name: a, url: "https://x.example" }\nwatchers:\n  - { name: A, directory: /x }\n',
      ).message,
    ).toMatch(/:4:13: watchers\[0\]\.name "A" is already used by pollers\[0\]/);
    expect(loadError('pollers:\n  - { name: ../etc, url: "https://x.example" }\n').message).toMatch(
      /pollers\[0\]\.name must be letters, digits/,
    );
  });

  it('names a missing secret without quoting any value', () => {
    const error = loadError(
      'pollers:\n  - name: a\n    url: https://x.example\n    headers:\n      X-Key: "${secret:NOPE} tok-123"\n',
    );
    expect(error.message).toMatch(
      /sources\.yaml:5:14: pollers\[0\]\.headers\.X-Key references secret NOPE, which is not set/,
    );
  });
});
