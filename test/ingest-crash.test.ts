import Database from 'better-sqlite3';
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, killHard, serveProcess, type ServeProcess } from './support/serve-process.js';
import { DEMO_CONFIG } from './support/warden-harness.js';

/**
 * Cases whose rows lag their alerts under load (`case_write_interval`), end
 * to end: a real `warden serve` is killed (SIGKILL) while clients keep
 * posting, started again on the same data directory, and every case then
 * agrees with the alerts stored for it, with a timeline that accounts for
 * every one of them.
 */
const TOKEN = 'wdn_test_admin_token_for_ingest_crash_0123456789';
const CONNECTIONS = 32;

let dir: string;
const servers: ChildProcess[] = [];

beforeAll(() => {
  assertBuilt();
});
afterEach(() => {
  for (const child of servers.splice(0)) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function configDir(): string {
  dir = mkdtempSync(join(tmpdir(), 'warden-ingest-crash-'));
  const config = join(dir, 'config');
  mkdirSync(config, { recursive: true });
  copyFileSync(join(DEMO_CONFIG, 'inventory.yaml'), join(config, 'inventory.yaml'));
  // Rows wait as long as alerts keep coming: only a quiet moment writes them.
  writeFileSync(join(config, 'warden.yaml'), 'pipeline:\n  case_write_interval: 1h\n');
  return config;
}

async function serve(config: string): Promise<ServeProcess> {
  const server = await serveProcess({ config, data: join(dir, 'data'), adminToken: TOKEN });
  servers.push(server.child);
  return server;
}

/**
 * Alerts against one of forty campaigns (a user each), every address new,
 * a fifth of them repeats. A request touches half the campaigns, so a
 * quiet moment (which writes the last commit's cases) leaves others lagging.
 */
function body(serial: number): string {
  const lines: string[] = [];
  for (let i = 0; i < 20; i += 1) {
    const n = serial * 20 + i;
    const campaign = n % 40;
    // Every fifth round of forty repeats the round before it (same campaign, same address).
    const repeat = Math.floor(n / 40) % 5 === 4;
    const host = repeat ? n - 40 : n;
    lines.push(
      JSON.stringify({
        type: 'prompt_injection',
        title: `Injected instructions, campaign ${campaign}`,
        severity: n % 7 === 0 ? 'critical' : 'medium',
        time: new Date(Date.UTC(2026, 10, 26, 10, 0, 0) + n * 1000).toISOString(),
        source: { product: 'Prompt Shield', vendor: 'Acme' },
        observables: {
          ips: [`10.${campaign}.${(host >> 8) & 255}.${host & 255}`],
          users: [`attacker-${campaign}@example.com`],
          model: { id: 'customer-service-llm' },
        },
      }),
    );
  }
  return lines.join('\n');
}

function post(agent: Agent, port: number, text: string): Promise<{ status: number; body: string }> {
  return new Promise((done, fail) => {
    const req = request(
      {
        agent,
        port,
        host: '127.0.0.1',
        method: 'POST',
        path: '/api/v1/alerts',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/x-ndjson' },
      },
      (res) => {
        let received = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (received += chunk));
        res.on('end', () => done({ status: res.statusCode ?? 0, body: received }));
        res.on('error', fail);
      },
    );
    req.on('error', fail);
    req.end(text);
  });
}

function db(): Database.Database {
  return new Database(join(dir, 'data', 'warden.db'), { readonly: true });
}

async function eventually(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface CaseRow {
  id: string;
  doc: string;
}

describe('cases held back under load survive the server being killed', () => {
  it('rebuilds every lagging case from its alerts after a SIGKILL mid-stream', async () => {
    const config = configDir();
    const acknowledged = new Set<string>();
    let serial = 0;
    /** Posts from several connections until the server is killed; whether the kill caught cases lagging. */
    const killMidStream = async (): Promise<boolean> => {
      const server = await serve(config);
      const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
      let killing = false;
      const client = async (): Promise<void> => {
        for (;;) {
          try {
            const answer = await post(agent, server.port, body(serial++));
            if (answer.status !== 202) throw new Error(`${answer.status}: ${answer.body}`);
            const { results } = JSON.parse(answer.body) as { results: { id: string }[] };
            for (const r of results) acknowledged.add(r.id);
          } catch (error) {
            // Requests in flight die with the server: their alerts were never acknowledged.
            if (killing) return;
            throw error;
          }
        }
      };
      const clients = Array.from({ length: CONNECTIONS }, client);
      const target = serial + 60;
      await eventually(() => serial > target, 'sixty requests');
      killing = true;
      await killHard(server.child);
      await Promise.all(clients);
      agent.destroy();
      const before = db();
      try {
        const stored = new Set(
          (before.prepare('SELECT id FROM alerts').all() as { id: string }[]).map((r) => r.id),
        );
        expect([...acknowledged].filter((id) => !stored.has(id))).toEqual([]);
        return (
          (before.prepare('SELECT count(*) AS n FROM unwritten_cases').get() as { n: number }).n > 0
        );
      } finally {
        before.close();
      }
    };
    // A kill may land just after a quiet moment wrote every case: try again (on the same store).
    let caughtLagging = false;
    for (let attempt = 0; attempt < 8 && !caughtLagging; attempt += 1) {
      caughtLagging = await killMidStream();
    }
    expect(caughtLagging).toBe(true);

    const second = await serve(config);
    await eventually(() => {
      const after = db();
      try {
        return (
          (after.prepare('SELECT count(*) AS n FROM unwritten_cases').get() as { n: number }).n ===
          0
        );
      } finally {
        after.close();
      }
    }, 'the restarted server to write the lagging cases');
    await killHard(second.child);

    const after = db();
    try {
      const cases = after.prepare('SELECT id, doc FROM cases').all() as CaseRow[];
      expect(cases.length).toBeGreaterThanOrEqual(40);
      for (const row of cases) {
        const c = JSON.parse(row.doc) as {
          alertCount: number;
          eventCount: number;
          lastSeen: string;
          observables: { ips: string[] };
        };
        const totals = after
          .prepare(
            'SELECT count(*) AS alerts, sum(count) AS events, max(last_seen) AS lastSeen FROM alerts WHERE case_id = ?',
          )
          .get(row.id) as { alerts: number; events: number; lastSeen: string };
        expect({ alerts: c.alertCount, events: c.eventCount, lastSeen: c.lastSeen }).toEqual(
          totals,
        );
        expect(c.observables.ips).toHaveLength(Math.min(totals.alerts, 100));
        // Every linked alert is on the timeline exactly once, the recovered ones too.
        const linked = (
          after
            .prepare("SELECT data FROM timeline WHERE case_id = ? AND kind = 'alerts_linked'")
            .all(row.id) as { data: string }[]
        ).reduce((sum, t) => sum + (JSON.parse(t.data) as { linked: number }).linked, 0);
        expect(linked).toBe(c.alertCount - 1);
      }
    } finally {
      after.close();
    }
  });
});
