import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { staticSecretSource } from '../src/connectors/secrets.js';
import { openWarden, type Warden } from '../src/main.js';
import type { IngestOutcome } from '../src/pipeline/ingest-queue.js';
import { startPullSources, type PullSources } from '../src/sources/pull/pull-sources.js';
import { FakeHttpService } from './support/fake-http-service.js';
import { DEMO_CONFIG } from './support/warden-harness.js';

let root: string;
let fake: FakeHttpService;
let warden: Warden;
let outcomes: IngestOutcome[];
let warnings: string[];

beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), 'warden-pull-'));
  fake = await FakeHttpService.start();
  outcomes = [];
  warnings = [];
});
afterEach(async () => {
  await warden.close();
  await fake.close();
  rmSync(root, { recursive: true, force: true });
});

/** The wiring `warden serve` uses, on a Warden committing on this thread. */
function start(configDir: string, dataDir: string): PullSources {
  return startPullSources({
    configDir,
    dataDir,
    secrets: staticSecretSource({ SIEM_TOKEN: 'tok-1' }),
    ingest: async (alerts) => {
      const prepared = alerts.map((a) => warden.preparer.prepare(a.draft, a.rawText));
      outcomes.push(...(await warden.ingest.submit(prepared)));
    },
    log: { info: () => undefined, warn: (message) => warnings.push(message) },
    observer: warden.metrics,
  });
}

describe('pull sources', () => {
  it('pulls from sources.yaml into the store; a lost checkpoint shows as duplicates, never losses', async () => {
    const configDir = join(root, 'config');
    const dataDir = join(root, 'data');
    const reports = join(root, 'reports');
    cpSync(DEMO_CONFIG, configDir, { recursive: true });
    mkdirSync(reports);
    writeFileSync(
      join(configDir, 'sources.yaml'),
      `pollers:
  - name: siem
    url: ${fake.url}/alerts
    interval: 50ms
    headers: { Authorization: "Bearer \${secret:SIEM_TOKEN}" }
    cursor: { param: since, response_field: next }
    items: alerts
watchers:
  - name: garak
    directory: ${reports}
    interval: 50ms
    context: { model: customer-churn }
`,
    );
    const spike = {
      type: 'inference_spike',
      title: 'spike on churn',
      time: '2026-11-26T10:00:00Z',
      observables: { ips: ['203.0.113.7'], model: { id: 'customer-churn' } },
    };
    fake.route({}, (request) =>
      request.query.get('since') === 'n-1'
        ? { body: { alerts: [] } }
        : { body: { alerts: [spike], next: 'n-1' } },
    );
    writeFileSync(
      join(reports, 'run.jsonl'),
      `${JSON.stringify({ type: 'prompt_injection', title: 'garak probe hit' })}\n`,
    );

    warden = openWarden({ configDir, dataDir, ingestThread: false, playbooks: 'queue' });
    let pull = start(configDir, dataDir);
    expect(pull.names).toEqual(['siem', 'garak']);
    await expect.poll(() => outcomes.length).toBe(2);
    await expect.poll(() => fake.requests.length).toBeGreaterThan(2);
    await pull.stop();
    expect(outcomes.map((o) => o.status)).toEqual(['new', 'new']);
    expect(fake.requests[0]?.headers.authorization).toBe('Bearer tok-1');
    // What an operator alerts on: each source's alerts, its polls, and whether it is failing.
    const metrics = await warden.metrics.registry.metrics();
    expect(metrics).toContain('warden_pull_alerts_total{source="siem",outcome="committed"} 1');
    expect(metrics).toContain('warden_pull_alerts_total{source="garak",outcome="committed"} 1');
    expect(metrics).toMatch(/warden_pull_runs_total\{source="siem",result="ok"\} [2-9]/);
    expect(metrics).toContain('warden_pull_consecutive_failures{source="garak"} 0');
    const lastSuccess = /warden_pull_last_success_timestamp_seconds\{source="siem"\} (\S+)/.exec(
      metrics,
    );
    expect(Number(lastSuccess?.[1])).toBeGreaterThan(Date.now() / 1000 - 60);

    // A crash between commit and checkpoint: the batch is read again and folded by dedup.
    rmSync(join(dataDir, 'checkpoints', 'garak.json'));
    pull = start(configDir, dataDir);
    await expect.poll(() => outcomes.length).toBe(3);
    await pull.stop();
    expect(outcomes[2]?.status).toBe('duplicate');
    expect(warnings).toEqual([]);
  });

  it('starts nothing without sources.yaml', async () => {
    warden = openWarden({ configDir: DEMO_CONFIG, dataDir: root, ingestThread: false });
    const pull = start(DEMO_CONFIG, root);
    expect(pull.names).toEqual([]);
    await pull.stop();
  });
});
