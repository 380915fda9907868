import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadWardenConfig } from './config/warden-config.js';
import { WardenError } from './core/errors.js';
import { loadPlaybookEngine } from './playbook-engine.js';

const DEMO = join(import.meta.dirname, '../examples/demo');
const CONNECTORS = `connectors:
  pager:
    type: http
    base_url: http://127.0.0.1:9
    actions:
      trigger:
        method: POST
        path: /events
        input: { severity: { enum: [critical, error] }, summary: string, count: { type: number, optional: true } }
        body: input
`;

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Loads the engine for one playbook whose only step is `step`; the error, if any. */
function load(step: string): WardenError | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'warden-engine-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'playbooks'));
  copyFileSync(join(DEMO, 'inventory.yaml'), join(dir, 'inventory.yaml'));
  writeFileSync(join(dir, 'connectors.yaml'), CONNECTORS);
  writeFileSync(
    join(dir, 'playbooks', 'page.yaml'),
    `id: page\nversion: 1\ntitle: Page\nowner: secops@bank.example\ntrigger: { types: [inference_spike] }\nsteps:\n${step}`,
  );
  try {
    loadPlaybookEngine({ config: loadWardenConfig(dir), dataDir: join(dir, 'data') });
    return undefined;
  } catch (error) {
    if (error instanceof WardenError) return error;
    throw error;
  }
}

describe('loadPlaybookEngine checks what playbooks ask of connectors', () => {
  it('accepts literal values the action takes, and leaves expressions to run time', () => {
    expect(
      load(
        "  - id: go\n    act: { connector: pager, action: trigger, input: { severity: critical, summary: '${{ case.title }}' } }\n",
      ),
    ).toBeUndefined();
    expect(
      load(
        '  - id: go\n    act: { connector: pager, action: trigger, input: \'${{ {"severity": "x"} }}\' }\n',
      ),
    ).toBeUndefined();
  });

  it('names an unknown connector and an unknown action with the position', () => {
    expect(load('  - id: go\n    act: { connector: pagr, action: trigger }\n')?.message).toMatch(
      /page\.yaml:\d+:\d+: steps\[0\] \(go\): unknown connector "pagr" \(configured: inventory, log, pager\)/,
    );
    expect(load('  - id: go\n    act: { connector: pager, action: page }\n')?.message).toContain(
      'connector pager has no action "page" (it has: trigger)',
    );
  });

  it('refuses a literal value outside the schema, naming the allowed values', () => {
    const error = load(
      '  - id: go\n    act: { connector: pager, action: trigger, input: { severity: Critical, summary: x } }\n',
    );
    expect(error?.code).toBe('invalid_config');
    expect(error?.message).toContain(
      'steps[0] (go): input.severity must be equal to one of the allowed values ("critical", "error")',
    );
  });

  it('refuses a field the action does not have and a required field not written', () => {
    const error = load(
      '  - id: go\n    act: { connector: pager, action: trigger, input: { severity: error, ttl_hours: 24 } }\n',
    );
    expect(error?.message).toContain(
      'input.ttl_hours is not a field of pager.trigger (it takes: severity, summary, count)',
    );
    expect(error?.message).toContain('input.summary is required by pager.trigger');
  });
});

describe('loadPlaybookEngine checks the router against the playbooks', () => {
  it('warns of a route to a playbook that starts on case_closed, which the router never runs', () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-engine-'));
    dirs.push(dir);
    mkdirSync(join(dir, 'playbooks'));
    copyFileSync(join(DEMO, 'inventory.yaml'), join(dir, 'inventory.yaml'));
    writeFileSync(
      join(dir, 'playbooks', 'close-out.yaml'),
      'id: close-out\nversion: 1\ntitle: Close out\nowner: o\ntrigger: { on: case_closed }\nsteps:\n  - { id: done, goto: end }\n',
    );
    writeFileSync(join(dir, 'router.yaml'), 'default: close-out\n');
    const emitted = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      loadPlaybookEngine({ config: loadWardenConfig(dir), dataDir: join(dir, 'data') });
      expect(emitted.mock.calls).toEqual([
        [
          expect.stringMatching(
            /router\.yaml: default names playbook close-out, which starts on case_closed: the router only dispatches new cases$/,
          ),
          { code: 'WARDEN_ROUTED_CLOSE_PLAYBOOK' },
        ],
      ]);
    } finally {
      emitted.mockRestore();
    }
  });
});
