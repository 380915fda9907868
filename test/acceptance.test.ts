import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Case, TimelineEntry } from '../src/core/case.js';
import { bearer, startHarness, type Harness } from './support/warden-harness.js';

/**
 * The acceptance scenario, over a real socket: the production
 * customer-churn model's inference API sees a 500% jump in request volume
 * from one /24 over five minutes.
 */
let h: Harness;
let base: string;

beforeAll(async () => {
  h = await startHarness();
  base = await h.app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await h.close();
});

const START = Date.parse('2026-11-26T10:00:00Z');

/** Spike alerts from `addresses`, one per address per minute for five minutes, as a model monitor emits them. */
function burst(prefix: string, hosts: number[]): Record<string, unknown>[] {
  const alerts: Record<string, unknown>[] = [];
  for (let minute = 0; minute < 5; minute += 1) {
    for (const host of hosts) {
      alerts.push({
        type: 'inference_spike',
        title: 'Inference request volume 500% above baseline',
        description: `requests/min 6x the 7-day baseline (minute ${minute})`,
        severity: 'medium',
        time: new Date(START + minute * 60_000).toISOString(),
        source: { product: 'Inference Gateway Monitor', vendor: 'Acme' },
        observables: {
          ips: [`${prefix}.${host}`],
          model: {
            id: 'customer-churn',
            endpoint: 'https://inference.bank.example/v1/models/customer-churn:predict',
          },
        },
      });
    }
  }
  return alerts;
}

async function send(
  alerts: Record<string, unknown>[],
): Promise<{ status: string; caseId: string }[]> {
  // Half as one NDJSON batch, half as concurrent single-alert requests: both paths must agree.
  const half = Math.floor(alerts.length / 2);
  const batch = fetch(`${base}/api/v1/alerts`, {
    method: 'POST',
    headers: { ...bearer(h.tokens.analyst), 'content-type': 'application/x-ndjson' },
    body: alerts
      .slice(0, half)
      .map((a) => JSON.stringify(a))
      .join('\n'),
  });
  const singles = alerts.slice(half).map((a) =>
    fetch(`${base}/api/v1/alerts`, {
      method: 'POST',
      headers: { ...bearer(h.tokens.analyst), 'content-type': 'application/json' },
      body: JSON.stringify(a),
    }),
  );
  const results: { status: string; caseId: string }[] = [];
  for (const response of await Promise.all([batch, ...singles])) {
    expect(response.status).toBe(202);
    const body = (await response.json()) as { results: { status: string; caseId: string }[] };
    results.push(...body.results);
  }
  return results;
}

async function getCase(
  id: string,
): Promise<Case & { alerts: { id: string; count: number }[]; timeline: TimelineEntry[] }> {
  const response = await fetch(`${base}/api/v1/cases/${id}`, { headers: bearer(h.tokens.viewer) });
  expect(response.status).toBe(200);
  return (await response.json()) as Case & {
    alerts: { id: string; count: number }[];
    timeline: TimelineEntry[];
  };
}

describe('acceptance: inference spike from one IP range on the production churn model', () => {
  it('folds repeats, correlates the burst into one enriched case, readable with its timeline', async () => {
    const attackers = [7, 8, 9, 23, 42, 77];
    const results = await send(burst('203.0.113', attackers));
    expect(results).toHaveLength(30);

    // Each address repeats every minute: the first is new, the rest fold into it.
    expect(results.filter((r) => r.status === 'new')).toHaveLength(attackers.length);
    expect(results.filter((r) => r.status === 'duplicate')).toHaveLength(30 - attackers.length);
    const caseIds = new Set(results.map((r) => r.caseId));
    expect(caseIds.size).toBe(1);

    const c = await getCase([...caseIds][0] as string);
    expect(c).toMatchObject({
      status: 'open',
      phase: 'detection_analysis',
      businessUnit: 'retail-banking',
      tier: 1,
      modelIds: ['customer-churn'],
      alertTypes: ['inference_spike'],
      alertCount: attackers.length,
      eventCount: 30,
      allAllowlisted: false,
      allowlisted: [],
    });
    expect(c.owner).toMatch(/@bank\.example$/);
    expect(c.blastRadius).toEqual(['exp-churn-v2', 'sentiment-analysis']);
    expect(c.atlasTechniques).toEqual(expect.arrayContaining(['AML.T0040', 'AML.T0029']));
    expect(c.observables.sourceRanges).toEqual(['203.0.113.0/24']);
    expect([...c.observables.ips].sort()).toEqual(attackers.map((n) => `203.0.113.${n}`).sort());
    // Medium alerts, raised for a tier-1 model.
    expect(c.severityId).toBeGreaterThanOrEqual(4);
    expect(c.severityReason).toContain('tier-1');
    expect(c.alerts).toHaveLength(attackers.length);
    expect(c.alerts.reduce((sum, a) => sum + a.count, 0)).toBe(30);
    expect(c.firstSeen).toBe('2026-11-26T10:00:00.000Z');
    expect(c.lastSeen).toBe('2026-11-26T10:04:00.000Z');

    expect(c.timeline[0]).toMatchObject({ kind: 'created', actor: 'system:ingest' });
    const linked = c.timeline.filter((t) => t.kind === 'alerts_linked');
    const linkedAlerts = linked.reduce((sum, t) => sum + (t.data.linked as number), 0);
    const folded = linked.reduce((sum, t) => sum + (t.data.repeats as number), 0);
    expect(linkedAlerts).toBe(attackers.length - 1);
    expect(folded).toBe(30 - attackers.length);

    const list = await fetch(`${base}/api/v1/cases?model=customer-churn&status=open`, {
      headers: bearer(h.tokens.viewer),
    });
    expect(((await list.json()) as { items: Case[] }).items.map((x) => x.id)).toContain(c.id);
  });

  it('recognises the same burst from the allow-listed internal scanner range on its own case', async () => {
    const results = await send(burst('10.20.30', [5, 6, 7]));
    const caseIds = new Set(results.map((r) => r.caseId));
    expect(caseIds.size).toBe(1);
    const c = await getCase([...caseIds][0] as string);
    expect(c.allAllowlisted).toBe(true);
    expect(c.allowlisted.map((m) => m.list)).toEqual([
      'internal-scanners',
      'internal-scanners',
      'internal-scanners',
    ]);
    expect(c.allowlisted[0]?.reason).toMatch(/scan/);
    expect(c.severityId).toBe(2);
    expect(c.severityReason).toContain('allow-listed');
    expect(c.observables.sourceRanges).toEqual(['10.20.30.0/24']);

    const stats = (await (
      await fetch(`${base}/api/v1/stats`, { headers: bearer(h.tokens.viewer) })
    ).json()) as {
      alerts: number;
      events: number;
      cases: number;
      alertToCaseCompression: number;
    };
    expect(stats).toMatchObject({ alerts: 9, events: 45, cases: 2, alertToCaseCompression: 4.5 });
  });
});
