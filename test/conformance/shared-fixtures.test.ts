import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { detectSourceFormat, normalizePayload } from '../../src/sources/source-registry.js';

/**
 * Runs the source formats against the shared fixtures when a checkout sits
 * next to ../shared; a user's clone has no such folder, so the suite skips.
 */
const fixturesDir = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../shared/fixtures',
);
const exists = existsSync(fixturesDir);

if (!exists) {
  console.info(
    `shared conformance suite skipped: ../shared/fixtures is absent (looked in ${fixturesDir})`,
  );
}

function loadFixture(name: string): unknown {
  return JSON.parse(readFileSync(path.join(fixturesDir, name), 'utf8')) as unknown;
}

describe.skipIf(!exists)('shared fixtures conformance', () => {
  it('reads ocsf_detection_finding.json as an OCSF prompt injection', () => {
    const payload = loadFixture('ocsf_detection_finding.json');
    expect(detectSourceFormat(payload).name).toBe('ocsf');

    const draft = normalizePayload(payload);
    expect(draft.type).toBe('prompt_injection');
    expect(draft.atlasTechniques).toContain('AML.T0051.001');
    expect(draft.severityId).toBe(4);
    expect(draft.observables.model?.id).toBe('support-bot');
    expect(draft.source.product).toBe('LLM Guard');
    expect(draft.raw).toEqual(payload);
  });
});
