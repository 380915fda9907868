import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { runCommand, type CommandRun } from '../../test/support/run-command.js';
import { registerPlaybookCommand } from './playbook-command.js';

const TESTDATA = fileURLToPath(new URL('../playbooks/testdata', import.meta.url));
const DEMO = fileURLToPath(new URL('../../examples/demo', import.meta.url));

const run = (...args: string[]): Promise<CommandRun> =>
  runCommand([registerPlaybookCommand], ...args);

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('warden playbook', () => {
  it('schema prints the JSON Schema', async () => {
    const { stdout, code } = await run('playbook', 'schema');
    expect(code).toBe(0);
    const schema = JSON.parse(stdout) as { $schema: string; $defs: Record<string, unknown> };
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(Object.keys(schema.$defs)).toEqual(['step', 'test']);
    expect(stdout).toContain('\n  "title": "Warden playbook",');
  });

  it('validate prints one ok line per playbook', async () => {
    // A config directory without connectors.yaml: only the playbooks themselves are checked.
    const config = mkdtempSync(join(tmpdir(), 'warden-cli-'));
    dirs.push(config);
    const { stdout, stderr, code } = await run(
      'playbook',
      'validate',
      TESTDATA,
      '--config',
      config,
    );
    expect({ stderr, code }).toEqual({ stderr: '', code: 0 });
    expect(stdout.trimEnd().split('\n')).toEqual([
      `ok  ${join(TESTDATA, 'federated-router.yaml')}  federated-router v2  (5 steps, 1 test)`,
      `ok  ${join(TESTDATA, 'inference-spike-external-range.yaml')}  inference-spike-external-range v3  (7 steps, 3 tests)`,
      `ok  ${join(TESTDATA, 'poisoned-dataset-upload.yaml')}  poisoned-dataset-upload v1  (7 steps, 1 test)`,
    ]);
  });

  it('validate reads <--config>/playbooks by default and exits 2 on problems', async () => {
    const config = mkdtempSync(join(tmpdir(), 'warden-cli-'));
    dirs.push(config);
    expect(await run('playbook', 'validate', '--config', config)).toEqual({
      stdout: `no playbooks in ${join(config, 'playbooks')}\n`,
      stderr: '',
      code: 0,
    });
    const dir = join(config, 'playbooks');
    mkdirSync(dir);
    const good =
      'id: good\nversion: 1\ntitle: T\nowner: o\ntrigger: { types: [other] }\nsteps: [{ id: a, goto: end }]\n';
    writeFileSync(join(dir, 'good.yaml'), good);
    writeFileSync(
      join(dir, 'bad.yaml'),
      good.replace('good', 'bad').replace('goto: end', 'goto: ned'),
    );
    const result = await run('playbook', 'validate', '--config', config);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe(`ok  ${join(dir, 'good.yaml')}  good v1  (1 step, 0 tests)\n`);
    expect(result.stderr).toBe(
      `${join(dir, 'bad.yaml')}:6:24: steps[0].goto: unknown step "ned" — did you mean "end"? (known: a, end)\n` +
        '1 problem in 1 file\n',
    );
  });

  it('validate checks what steps write against the connectors in <--config>/connectors.yaml', async () => {
    const config = mkdtempSync(join(tmpdir(), 'warden-cli-'));
    dirs.push(config);
    const dir = join(config, 'playbooks');
    mkdirSync(dir);
    writeFileSync(join(config, 'inventory.yaml'), readFileSync(join(DEMO, 'inventory.yaml')));
    writeFileSync(
      join(config, 'connectors.yaml'),
      // The secret need not be set: validate loads connectors with stand-ins and calls nothing.
      "connectors:\n  pager:\n    type: pagerduty\n    routing_key: '${secret:PD_KEY}'\n",
    );
    writeFileSync(
      join(dir, 'page.yaml'),
      'id: page\nversion: 1\ntitle: T\nowner: o\ntrigger: { types: [other] }\nsteps:\n' +
        "  - id: go\n    act: { connector: pager, action: trigger, input: { case_id: '${{ case.id }}', summary: s, severity: high } }\n",
    );
    const result = await run('playbook', 'validate', '--config', config);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `${join(dir, 'page.yaml')}:7:5: steps[0] (go): input.severity must be equal to one of the allowed values ("critical", "error", "warning", "info")\n` +
        '1 problem in 1 file\n',
    );
  });

  it('test runs every inline test on the demo estate and prints one line each', async () => {
    const { stdout, code } = await run('playbook', 'test', TESTDATA, '--config', DEMO);
    expect(code).toBe(0);
    expect(stdout).toContain(
      'ok    inference-spike-external-range › a malicious range on a tier-1 model waits for approval, then is blocked\n',
    );
    expect(stdout).toContain('5 tests: 5 passed, 0 failed');
  });

  it('test reports what differs and exits 1 when an expectation fails', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-cli-'));
    dirs.push(dir);
    writeFileSync(
      join(dir, 'p.yaml'),
      [
        'id: p',
        'version: 1',
        'title: T',
        'owner: o',
        'trigger: { types: [other] }',
        'steps:',
        '  - id: look',
        '    enrich: { connector: ti, action: lookup, input: { ip: "${{ alert.observables.ips[0] }}" } }',
        '  - id: note',
        '    case: { phase: containment }',
        'tests:',
        '  - name: wrong on purpose',
        '    alert: { type: other, title: t, observables: { ips: [203.0.113.9] } }',
        '    expect:',
        '      steps: [note]',
        '      actions: [{ step: look, input: { ip: 203.0.113.1 } }]',
        '      case: { phase: recovery }',
      ].join('\n'),
    );
    const { stdout, code } = await run('playbook', 'test', dir, '--config', DEMO);
    expect(code).toBe(1);
    expect(stdout).toContain('FAIL  p › wrong on purpose\n');
    expect(stdout).toContain('steps: expected note, ran look → note');
    expect(stdout).toContain(
      'actions[0] (look): expected input {"ip":"203.0.113.1"}, got {"ip":"203.0.113.9"}',
    );
    expect(stdout).toContain('case.phase: expected "recovery", got "containment"');
    expect(stdout).toContain('1 test: 0 passed, 1 failed');
  });

  it('run --dry-run shows the path, the conditions that chose it and the calls it would make', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-cli-'));
    dirs.push(dir);
    const alert = join(dir, 'alert.json');
    writeFileSync(
      alert,
      JSON.stringify({
        type: 'inference_spike',
        title: 'spike',
        observables: { ips: ['203.0.113.7'], model: { id: 'customer-churn' } },
      }),
    );
    const responses = join(dir, 'responses.json');
    writeFileSync(responses, JSON.stringify({ intel: { output: { malicious: true, score: 92 } } }));
    const config = join(dir, 'config');
    mkdirSync(config);
    for (const file of ['inventory.yaml', 'policy.yaml']) {
      writeFileSync(join(config, file), readFileSync(join(DEMO, file)));
    }
    symlinkSync(TESTDATA, join(config, 'playbooks'));
    const args = [
      'playbook',
      'run',
      'inference-spike-external-range',
      '--alert',
      alert,
      '--config',
      config,
    ];

    await expect(run(...args)).rejects.toThrow(/--dry-run is required/);

    const { stdout, code } = await run(...args, '--dry-run', '--responses', responses);
    expect(code).toBe(0);
    expect(stdout).toContain('  intel  → call with {"ip":"203.0.113.7"}\n');
    expect(stdout).toContain(
      'has(steps.intel.output) && steps.intel.output.malicious && alert.enrichment.tier == 1 = true\n      → approve_block',
    );
    // Without --approve the approval times out and escalates, then the step fails over to notify_owner.
    expect(stdout).toContain('failed: approval_timeout');
    expect(stdout).not.toContain('  block  →');
    expect(stdout).toMatch(/finished: succeeded\n/);

    const approved = await run(...args, '--dry-run', '--responses', responses, '--approve');
    expect(approved.stdout).toContain(
      '  block  → call with {"cidr":"203.0.113.0/24","reason":"inference spike from an external range (case #1)","ttl_hours":24}',
    );
    expect(approved.stdout).toContain('case after the run: phase containment, status open');
  });
});
