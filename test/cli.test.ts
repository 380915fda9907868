import { spawnSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chainAuditEntry } from '../src/core/audit-chain.js';
import { DEMO_CONFIG, spikeAlert } from './support/warden-harness.js';

const CLI = resolve(import.meta.dirname, '../dist/cli/main.js');
let dir: string;
let data: string;

function warden(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, WARDEN_CONFIG: DEMO_CONFIG, ...env },
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

beforeAll(() => {
  if (!existsSync(CLI))
    throw new Error(`${CLI} is missing: run "npm run build" first (npm test does)`);
  dir = mkdtempSync(join(tmpdir(), 'warden-cli-'));
  data = join(dir, 'data');
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('warden CLI', () => {
  it('prints help naming every command', () => {
    const { code, stdout } = warden(['--help']);
    expect(code).toBe(0);
    for (const command of ['serve', 'ingest', 'cases', 'audit', 'token'])
      expect(stdout).toContain(command);
  });

  it('ingests NDJSON and JSON files into the store, with a progress bar for large files, and lists the cases', () => {
    const ndjson = join(dir, 'burst.ndjson');
    const lines: string[] = [];
    for (let i = 0; i < 1500; i += 1) {
      lines.push(
        JSON.stringify(
          spikeAlert(`203.0.113.${i % 50}`, {
            time: new Date(Date.parse('2026-11-26T10:00:00Z') + i * 1000).toISOString(),
          }),
        ),
      );
    }
    writeFileSync(ndjson, lines.join('\n'));
    const json = join(dir, 'one.json');
    writeFileSync(
      json,
      JSON.stringify(
        [
          spikeAlert('198.51.100.1', {
            observables: { model: { id: 'fraud-detection' }, users: ['mallory'] },
          }),
        ],
        null,
        2,
      ),
    );

    const ingest = warden(['ingest', ndjson, json, '--data', data]);
    expect(ingest.stderr).toMatch(/ingest \[#+\] 100% 1,501\/1,501/);
    expect(ingest.stdout).toContain('ingested 1501 alerts: 51 new, 1450 duplicates, 0 rejected');
    expect(ingest.code).toBe(0);

    const cases = warden(['cases', '--data', data]);
    expect(cases.code).toBe(0);
    expect(cases.stdout).toMatch(/inference spike on Customer Churn/);
    expect(cases.stdout).toContain(
      '2 cases (2 open) from 51 alerts / 1501 events: 25.5 alerts per case',
    );
  });

  it('adds the sender context (--model, --user) to verdicts that carry none, and refuses an empty one', () => {
    const ctxData = join(dir, 'context-data');
    const verdict = join(dir, 'verdict.json');
    writeFileSync(
      verdict,
      JSON.stringify({ type: 'prompt_injection', title: 'Injected instructions in a chat' }),
    );
    const ingest = warden([
      'ingest',
      verdict,
      '--model',
      'support-chatbot',
      '--user',
      'bob',
      '--data',
      ctxData,
    ]);
    expect(ingest.code).toBe(0);
    const db = new Database(join(ctxData, 'warden.db'), { readonly: true });
    const row = db.prepare('SELECT doc, business_unit FROM alerts').get() as {
      doc: string;
      business_unit: string;
    };
    db.close();
    const alert = JSON.parse(row.doc) as {
      observables: { model?: { id: string }; users: string[] };
    };
    expect(alert.observables.model?.id).toBe('support-chatbot');
    expect(alert.observables.users).toEqual(['bob']);
    expect(row.business_unit).toBe('customer-experience');

    const empty = warden(['ingest', verdict, '--model', '', '--data', ctxData]);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('--model');
  });

  it('ingests a garak report (rows without a finding ignored) and a multi-alert Kibana body part by part', () => {
    const report = join(dir, 'scan.report.jsonl');
    writeFileSync(
      report,
      [
        { entry_type: 'init', garak_version: '0.14.0', run: 'run-cli' },
        {
          entry_type: 'eval',
          probe: 'dan.Dan_11_0',
          detector: 'dan.DAN',
          passed: 1,
          total_evaluated: 4,
        },
        { entry_type: 'completion', run: 'run-cli' },
      ]
        .map((row) => JSON.stringify(row))
        .join('\n'),
    );
    const kibana = join(dir, 'kibana.json');
    writeFileSync(
      kibana,
      JSON.stringify({
        context: {
          alerts: [
            { 'kibana.alert.uuid': 'cli-1', 'kibana.alert.rule.name': 'LLM prompt injection' },
            { 'kibana.alert.uuid': 'cli-2' },
          ],
        },
      }),
    );
    const result = warden([
      'ingest',
      report,
      kibana,
      '--model',
      'support-chatbot',
      '--data',
      join(dir, 'multi-data'),
    ]);
    expect(result.stdout).toContain(
      'ingested 4 alerts: 2 new, 0 duplicates, 1 rejected, 2 ignored (no finding)',
    );
    expect(result.stderr).toContain(
      `${kibana}:1 part 1: Kibana alert: required field "kibana.alert.rule.name" is missing`,
    );
    expect(result.code).toBe(1);
  });

  it('names the bad line of a file and exits non-zero', () => {
    const bad = join(dir, 'bad.ndjson');
    writeFileSync(
      bad,
      `${JSON.stringify(spikeAlert('198.51.100.9', { title: 'ok' }))}\n${JSON.stringify({ type: 'inference_spike' })}\n`,
    );
    const result = warden(['ingest', bad, '--data', data]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${bad}:2: native alert: required field "title" is missing`);
    expect(warden(['ingest', bad, '--data', data, '--source', 'nope']).stderr).toContain(
      'unknown source format "nope"',
    );
  });

  it('creates tokens and refuses an unknown role', () => {
    const created = warden([
      'token',
      'create',
      '--role',
      'viewer',
      '--unit',
      'retail-banking',
      '--data',
      data,
    ]);
    expect(created.code).toBe(0);
    expect(created.stdout.trim()).toMatch(/^wdn_[\w-]{20,}$/);
    const bad = warden(['token', 'create', '--role', 'king', '--data', data]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(
      '--role must be one of: ingest, viewer, analyst, responder, admin',
    );

    const listed = warden(['token', 'list', '--data', data]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).not.toContain(created.stdout.trim());
    const row = listed.stdout.split('\n').find((line) => line.includes('retail-banking'));
    expect(row).toMatch(/^\S+\s+viewer\s+retail-banking\s+/);
    const id = row?.split(/\s+/)[0] ?? '';
    expect(warden(['token', 'revoke', id, '--data', data]).code).toBe(0);
    expect(warden(['token', 'list', '--data', data]).stdout).not.toContain(id);
    const again = warden(['token', 'revoke', id, '--data', data]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`token ${id} not found`);
  });

  it('prints the audit head and verifies a log against it, kept elsewhere, after a rewrite', () => {
    const head = warden(['audit', 'head', '--data', data]);
    expect(head.code).toBe(0);
    const anchor = /^(\d+:[0-9a-f]{64}) {2}\(\S+\)\n$/.exec(head.stdout)?.[1] ?? '';
    expect(anchor).not.toBe('');
    const json = JSON.parse(warden(['audit', 'head', '--data', data, '--json']).stdout) as {
      seq: number;
      hash: string;
    };
    expect(`${json.seq}:${json.hash}`).toBe(anchor);
    const ok = warden(['audit', 'verify', '--data', data, '--anchor', anchor]);
    expect(ok.stdout).toMatch(/audit log OK: \d+ entries, hash chain intact, 1 anchor matched/);
    const bad = warden(['audit', 'verify', '--data', data, '--anchor', 'latest']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--anchor must be SEQ:HASH');

    // Someone with write access to the store rewrites the newest entry and its hash to match.
    const db = new Database(join(data, 'warden.db'));
    const [seq] = anchor.split(':');
    const row = db.prepare('SELECT * FROM audit_log WHERE seq = ?').get(Number(seq)) as Record<
      string,
      string | number
    >;
    const forged = chainAuditEntry(Number(seq), String(row.prev_hash), {
      at: String(row.at),
      actor: 'intruder',
      action: String(row.action),
      subject: String(row.subject),
      data: JSON.parse(String(row.data)) as Record<string, unknown>,
    });
    db.prepare('UPDATE audit_log SET actor = ?, hash = ? WHERE seq = ?').run(
      forged.actor,
      forged.hash,
      Number(seq),
    );
    db.close();
    expect(warden(['audit', 'verify', '--data', data]).code).toBe(0);
    const caught = warden(['audit', 'verify', '--data', data, '--anchor', anchor]);
    expect(caught.code).toBe(1);
    expect(caught.stdout).toContain(`entry ${seq} does not have the hash recorded outside Warden`);
  });

  it('verifies the audit log and detects an edited or deleted entry', () => {
    expect(warden(['audit', 'verify', '--data', data]).stdout).toMatch(/audit log OK: \d+ entries/);
    const db = new Database(join(data, 'warden.db'));
    db.prepare("UPDATE audit_log SET data = json_set(data, '$.role', 'admin') WHERE seq = 2").run();
    db.close();
    const edited = warden(['audit', 'verify', '--data', data]);
    expect(edited.code).toBe(1);
    expect(edited.stdout).toContain('entry 2 was edited');

    const db2 = new Database(join(data, 'warden.db'));
    db2.prepare('DELETE FROM audit_log WHERE seq = 3').run();
    db2.close();
    expect(warden(['audit', 'verify', '--data', data]).stdout).toContain('entry 3 is missing');
  });

  it('serve prints a generated admin token once, and the token works', async () => {
    const serveData = join(dir, 'serve-data');
    const start = async () => {
      const child = spawn(
        process.execPath,
        [CLI, 'serve', '--data', serveData, '--port', '0', '--host', '127.0.0.1'],
        {
          env: {
            ...process.env,
            WARDEN_CONFIG: DEMO_CONFIG,
            WARDEN_ADMIN_TOKEN: '',
            WARDEN_LOG_LEVEL: 'warn',
          },
        },
      );
      let out = '';
      await new Promise<void>((ready, fail) => {
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          if (
            /Warden http:\/\/\S+/.test(out) &&
            (out.includes('Try:') || out.split('\n').length > 1)
          )
            ready();
        });
        child.once('exit', (code) => fail(new Error(`serve exited ${code}: ${out}`)));
      });
      await new Promise((r) => setTimeout(r, 100));
      return { child, out, url: /Warden (http:\/\/\S+)/.exec(out)?.[1] as string };
    };
    const first = await start();
    const token = /Admin token[^\n]*\n\s+(\S+)/.exec(first.out)?.[1];
    expect(token).toMatch(/^wdn_/);
    const response = await fetch(`${first.url}/api/v1/cases`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(200);

    // ingest --url posts the files to the running server in NDJSON batches.
    const file = join(dir, 'remote.ndjson');
    writeFileSync(
      file,
      [spikeAlert('203.0.113.1'), spikeAlert('203.0.113.1'), { type: 'inference_spike' }]
        .map((a) => JSON.stringify(a))
        .join('\n'),
    );
    const remote = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
      (done) => {
        const child = spawn(process.execPath, [CLI, 'ingest', file, '--url', first.url], {
          env: { ...process.env, WARDEN_TOKEN: token },
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
        child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
        child.once('exit', (code) => done({ code, stdout, stderr }));
      },
    );
    expect(remote.stdout).toContain('ingested 3 alerts: 1 new, 1 duplicates, 1 rejected');
    expect(remote.stderr).toContain(`${file}:3:`);
    expect(remote.code).toBe(1);

    // A second process that would ingest into the same data directory is refused, and says why.
    const inUse = `data directory ${serveData} is in use by another Warden process`;
    const direct = warden(['ingest', file, '--data', serveData]);
    expect(direct.stderr).toContain(inUse);
    expect(direct.code).toBe(2);
    const secondServer = warden(['serve', '--data', serveData, '--port', '0'], {
      WARDEN_LOG_LEVEL: 'warn',
    });
    expect(secondServer.stderr).toContain(inUse);
    expect(secondServer.code).toBe(2);
    const after = await fetch(`${first.url}/api/v1/cases`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect((await after.json()) as { items: unknown[] }).toMatchObject({
      items: [expect.objectContaining({ alertCount: 1, eventCount: 2 })],
    });
    first.child.kill('SIGTERM');
    await new Promise((r) => first.child.once('exit', r));

    const second = await start();
    expect(second.out).not.toContain('Admin token');
    second.child.kill('SIGTERM');
    await new Promise((r) => second.child.once('exit', r));
  });
});
