import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadContainmentPolicy } from '../src/config/policy-config.js';
import { loadWardenConfig } from '../src/config/warden-config.js';
import { localConnectors } from '../src/connectors/local-connectors.js';
import { InventoryIndex } from '../src/core/inventory.js';
import { startDemoServices, type DemoServices } from '../src/demo/demo-services.js';
import { openWarden, wardenServer, type Warden } from '../src/main.js';
import { loadPlaybooks } from '../src/playbooks/playbook-loader.js';
import { runPlaybookTest } from '../src/playbooks/playbook-test-runner.js';
import { normalizePayload } from '../src/sources/source-registry.js';
import { DEMO_CONFIG } from './support/warden-harness.js';

const config = loadWardenConfig(DEMO_CONFIG);
const inventory = new InventoryIndex(config.inventory);
const playbooks = loadPlaybooks(join(DEMO_CONFIG, 'playbooks'));

/** The demo services on a free port, and a copy of the demo estate whose connectors point at them. */
async function demoWithServices(
  prefix: string,
): Promise<{ dir: string; services: DemoServices; configDir: string }> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const services = await startDemoServices({ port: 0, log: () => undefined });
  const configDir = join(dir, 'config');
  cpSync(DEMO_CONFIG, configDir, { recursive: true });
  // The Slack webhook URL is a secret, so it lives in secrets.yaml.
  for (const file of ['connectors.yaml', 'secrets.yaml']) {
    const path = join(configDir, file);
    writeFileSync(
      path,
      readFileSync(path, 'utf8').replaceAll('http://127.0.0.1:8089', services.url),
    );
  }
  return { dir, services, configDir };
}

describe('the demo estate’s playbooks pass their own tests', () => {
  it('ships the scenarios: a spike from a range, a poisoned upload, a tampered model, a federated router, a close-out', () => {
    expect(playbooks.map((p) => p.id).sort()).toEqual([
      'close-out',
      'federated-router',
      'inference-spike-external-range',
      'llm-abuse-triage',
      'model-integrity-rollback',
      'poisoned-dataset-upload',
    ]);
  });

  for (const playbook of playbooks) {
    for (const test of playbook.tests) {
      it(`${playbook.id} › ${test.name}`, async () => {
        const result = await runPlaybookTest(playbook, test, {
          inventory,
          policy: loadContainmentPolicy(DEMO_CONFIG),
          playbooks: new Map(playbooks.map((p) => [p.id, p])),
          readAlertFile: (path) => JSON.parse(readFileSync(path, 'utf8')) as unknown,
          localConnectors: localConnectors(inventory),
        });
        expect(result.failures).toEqual([]);
      });
    }
  }
});

describe('the demo, end to end: alerts in, actions out through the demo services', () => {
  let dir: string;
  let services: DemoServices;
  let configDir: string;
  let warden: Warden;

  beforeAll(async () => {
    ({ dir, services, configDir } = await demoWithServices('warden-demo-'));
    warden = openWarden({
      configDir,
      dataDir: join(dir, 'data'),
      ingestThread: false,
      playbooks: 'queue',
    });
  });
  afterAll(async () => {
    await warden.close();
    await services.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function ingest(payload: unknown): Promise<string> {
    const [outcome] = await warden.ingest.submit([
      warden.preparer.prepare(normalizePayload(payload)),
    ]);
    await warden.executor?.idle();
    return outcome?.caseId ?? '';
  }

  it('blocks a hostile range over OpenC2, quarantines a poisoned upload, rolls a tampered model back and pages', async () => {
    const spike = await ingest({
      type: 'inference_spike',
      title: 'Request volume 500% above baseline',
      severity: 'high',
      observables: { ips: ['203.0.113.7'], model: { id: 'sentiment-analysis' } },
    });
    const poisoned = await ingest({
      type: 'data_poisoning',
      title: 'Label flipping in an upload',
      severity: 'high',
      observables: {
        dataset: {
          id: 'ds-customer-profiles',
          hash: 'sha256:9f2c0d1e8b7a69584736251403f2e1d0c9b8a79685746352413f2e1d0c9b8a79',
        },
        users: ['contractor-42'],
        api_key_ids: ['key-7f3a'],
      },
    });
    const tampered = await ingest(
      JSON.parse(
        readFileSync(join(DEMO_CONFIG, 'playbooks/alerts/tampered-fraud-model.json'), 'utf8'),
      ),
    );
    expect(services.actions.map((a) => `${a.service} ${a.action} ${a.target}`)).toEqual([
      'openc2 denied address range 203.0.113.0/24',
      'feature-store quarantined dataset ds-customer-profiles',
      'gateway disabled API key key-7f3a',
      'mlflow tagged version fraud-detection v3',
      'mlflow tagged version fraud-detection v3',
      'mlflow moved alias fraud-detection@champion',
      'mlflow tagged version fraud-detection v2',
      `pagerduty triggered incident warden-case-${tampered}`,
      'jira created issue SEC-1',
      'slack posted message T0DEMO/B0DEMO',
    ]);
    for (const caseId of [spike, poisoned, tampered]) {
      expect((await warden.store.getCase(caseId))?.phase).toBe('containment');
      const [run] = await warden.store.listRunsForCase(caseId);
      expect(run?.status).toBe('succeeded');
    }
  });

  it('shows each action on its case with the request, the response and the OpenC2 form', async () => {
    const spike = (await warden.store.listCases({}, { limit: 10 })).items.find((c) =>
      c.alertTypes.includes('inference_spike'),
    );
    const timeline = await warden.store.listTimeline(spike?.id ?? '');
    const block = timeline.find((t) => t.kind === 'action_taken');
    expect(block?.data).toMatchObject({
      ok: true,
      status: 200,
      openc2: { action: 'deny', target: { ipv4_net: '203.0.113.0/24' } },
    });
    const evidence = await warden.store.getEvidence(String(block?.data.evidenceId));
    const record = JSON.parse(Buffer.from(evidence?.content ?? []).toString('utf8')) as {
      exchange: { method: string; requestBody: string; responseBody: string };
      openc2: unknown;
    };
    expect(record.exchange.method).toBe('POST');
    expect(record.exchange.requestBody).toContain('"ipv4_net":"203.0.113.0/24"');
    expect(record.exchange.responseBody).toContain('rule_number');
    expect(JSON.stringify(record)).not.toContain('demo-openc2-token');
  });

  it('closing the tampered model’s case resolves its page; closing a tier-2 case starts nothing', async () => {
    const cases = (await warden.store.listCases({}, { limit: 10 })).items;
    const tampered = cases.find((c) => c.alertTypes.includes('model_integrity'));
    const spike = cases.find((c) => c.alertTypes.includes('inference_spike'));
    expect(tampered?.tier).toBe(1);
    const before = services.actions.length;
    const analyst = { tokenId: 't', name: 'dana', role: 'analyst' as const, units: null };
    await warden.cases.close(analyst, tampered?.id ?? '', 'true_positive_contained', 'rolled back');
    await warden.cases.close(analyst, spike?.id ?? '', 'true_positive_contained', null);
    await warden.executor?.idle();

    expect(
      services.actions.slice(before).map((a) => `${a.service} ${a.action} ${a.target}`),
    ).toEqual([`pagerduty resolved incident warden-case-${tampered?.id}`]);
    const runs = await warden.store.listRunsForCase(tampered?.id ?? '');
    expect(runs.map((r) => [r.playbookId, r.status])).toEqual([
      ['model-integrity-rollback', 'succeeded'],
      ['close-out', 'succeeded'],
    ]);
    const timeline = await warden.store.listTimeline(tampered?.id ?? '');
    expect(
      timeline.find((t) => t.kind === 'playbook_queued' && t.actor === 'playbook:close-out'),
    ).toMatchObject({
      message: `playbook close-out v1 queued: case #${tampered?.number} closed (true_positive_contained)`,
    });
    expect((await warden.store.listRunsForCase(spike?.id ?? '')).map((r) => r.playbookId)).toEqual([
      'inference-spike-external-range',
    ]);
  });
});

describe('closing a case through the API, with playbooks on the writer thread', () => {
  let dir: string;
  let services: DemoServices;
  let configDir: string;
  let warden: Warden;

  beforeAll(async () => {
    ({ dir, services, configDir } = await demoWithServices('warden-demo-threaded-'));
    // The server's own wiring: ingest and playbooks run on the writer thread.
    warden = openWarden({ configDir, dataDir: join(dir, 'data') });
    await warden.tokens.ensureAdmin('admin-secret');
  });
  afterAll(async () => {
    await warden.close();
    await services.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the request thread queues the close-out run; the writer thread runs it', async () => {
    const app = wardenServer(warden);
    const auth = { authorization: 'Bearer admin-secret' };
    const posted = await app.inject({
      method: 'POST',
      url: '/api/v1/alerts',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: readFileSync(
        join(DEMO_CONFIG, 'playbooks/alerts/tampered-fraud-model.json'),
        'utf8',
      ),
    });
    const caseId = posted.json<{ results: { caseId: string }[] }>().results[0]?.caseId ?? '';
    const seen = () => services.actions.map((a) => `${a.service} ${a.action} ${a.target}`);
    await expect
      .poll(seen, { timeout: 10_000 })
      .toContain(`pagerduty triggered incident warden-case-${caseId}`);
    const closed = await app.inject({
      method: 'POST',
      url: `/api/v1/cases/${caseId}/close`,
      headers: auth,
      payload: { reason: 'true_positive_contained' },
    });
    expect(closed.statusCode).toBe(200);
    await expect
      .poll(seen, { timeout: 10_000 })
      .toContain(`pagerduty resolved incident warden-case-${caseId}`);
    await app.close();
  });
});
