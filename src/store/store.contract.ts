import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { emptyObservables, encodeAlert, type NormalizedAlert } from '../core/alert.js';
import {
  AUDIT_GENESIS_HASH,
  AuditChainVerifier,
  auditHash,
  type AuditDraft,
} from '../core/audit-chain.js';
import { linkAlertToCase, openCaseFor, type Case, type TimelineEntry } from '../core/case.js';
import { correlationKeysOf } from '../core/correlation.js';
import { WardenError } from '../core/errors.js';
import { evidenceSummary, sealEvidence } from '../core/evidence.js';
import { uuidv7 } from '../core/ids.js';
import type {
  ApiToken,
  ApprovalRecord,
  CaseFilter,
  DeadLetterRecord,
  EffectRecord,
  PlaybookRunRecord,
  Store,
} from './store.js';

/**
 * The suite every storage backend passes. A backend's test calls it with a
 * factory that opens a fresh, empty store (and a cleanup that closes and
 * deletes it); every test gets its own store.
 */
export type OpenStore = () => Promise<{ store: Store; cleanup: () => Promise<void> }>;

const T0 = Date.parse('2026-03-01T12:00:00.000Z');

/** ISO time `minutes` after the suite's epoch. */
export function at(minutes: number): string {
  return new Date(T0 + minutes * 60_000).toISOString();
}

let serial = 0;

/** A well-formed normalised alert; `overrides` replace top-level fields. */
export function makeAlert(overrides: Partial<NormalizedAlert> = {}): NormalizedAlert {
  serial += 1;
  const observables = emptyObservables();
  observables.ips.push('203.0.113.7');
  observables.model = { id: 'churn-predictor', endpoint: '/v1/models/churn:predict' };
  return {
    id: uuidv7(),
    dedupKey: `dedup-${serial}`,
    source: { format: 'native', product: 'Prompt Shield', vendor: 'Example', uid: `ps-${serial}` },
    type: 'prompt_injection',
    title: `Prompt injection #${serial}`,
    description: 'Ignore previous instructions',
    severityId: 3,
    severity: 'Medium',
    confidence: 80,
    firstSeen: at(0),
    lastSeen: at(0),
    count: 1,
    observables,
    atlasTechniques: ['AML.T0051'],
    raw: { finding: { id: serial, text: 'ignore previous instructions' } },
    receivedAt: at(0),
    enrichment: {
      modelId: 'churn-predictor',
      modelName: 'Churn Predictor',
      businessUnit: 'retail',
      tier: 1,
      owner: 'ml-retail@example.com',
      environment: 'production',
      blastRadius: ['fraud-scorer'],
      allowlisted: [],
    },
    ...overrides,
  };
}

/** A case opened for an alert by the core function, with `overrides` applied. */
export function makeCase(number: number, overrides: Partial<Case> = {}): Case {
  const alert = makeAlert();
  const c = openCaseFor(alert, correlationKeysOf(alert), {
    id: uuidv7(),
    number,
    now: at(0),
  });
  return { ...c, ...overrides };
}

export function makeToken(overrides: Partial<ApiToken> = {}): ApiToken {
  serial += 1;
  return {
    id: uuidv7(),
    name: `token-${serial}`,
    tokenHash: `${serial}`.padStart(64, 'a'),
    role: 'analyst',
    units: null,
    createdAt: at(0),
    createdBy: 'test',
    ...overrides,
  };
}

function draft(action: string, data: Record<string, unknown> = {}): AuditDraft {
  return { at: at(1), actor: 'tester', action, subject: 'subject-1', data };
}

function timelineEntry(caseId: string, overrides: Partial<TimelineEntry> = {}): TimelineEntry {
  return {
    id: uuidv7(),
    caseId,
    at: at(0),
    actor: 'tester',
    kind: 'comment',
    message: 'note',
    data: {},
    ...overrides,
  };
}

async function rejectionOf(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

export function makeRun(overrides: Partial<PlaybookRunRecord> = {}): PlaybookRunRecord {
  return {
    id: uuidv7(),
    playbookId: 'spike',
    playbookVersion: 3,
    caseId: 'case-1',
    alertId: 'alert-1',
    businessUnit: 'fraud',
    parentRunId: null,
    parentStepId: null,
    status: 'queued',
    wakeAt: null,
    state: { cursor: 0, steps: { intel: { status: 'pending' } } },
    command: null,
    createdAt: at(0),
    updatedAt: at(0),
    finishedAt: null,
    ...overrides,
  };
}

export function makeApproval(overrides: Partial<ApprovalRecord> = {}): ApprovalRecord {
  return {
    id: uuidv7(),
    runId: 'run-1',
    stepId: 'approve_block',
    caseId: 'case-1',
    businessUnit: 'fraud',
    status: 'pending',
    approvers: ['responder', 'admin'],
    message: 'Block 203.0.113.0/24?',
    requestedAt: at(0),
    deadline: at(30),
    answeredBy: null,
    answeredRole: null,
    answeredAt: null,
    comment: null,
    ...overrides,
  };
}

export function makeEffect(overrides: Partial<EffectRecord> = {}): EffectRecord {
  return {
    idempotencyKey: `run-1:block:0`,
    runId: 'run-1',
    stepId: 'block',
    item: 0,
    connector: 'network',
    action: 'block_ip_range',
    input: { cidr: '203.0.113.0/24' },
    status: 'sent',
    output: null,
    error: null,
    exchange: null,
    sentAt: at(0),
    finishedAt: null,
    ...overrides,
  };
}

export function makeDeadLetter(overrides: Partial<DeadLetterRecord> = {}): DeadLetterRecord {
  serial += 1;
  return {
    id: uuidv7(),
    receivedAt: at(0),
    source: null,
    reasonCode: 'undetected_source_format',
    reason: 'could not recognise the alert format',
    field: null,
    body: `{"sid":"s-${serial}",  "odd spacing": "kept as received"}`,
    replayedAt: null,
    replayResult: null,
    ...overrides,
  };
}

export function describeStoreContract(name: string, open: OpenStore): void {
  describe(`store contract: ${name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, cleanup } = await open());
    });

    afterEach(async () => {
      await cleanup();
    });

    async function insertCases(...cases: Case[]): Promise<void> {
      await store.transaction(async (tx) => {
        for (const c of cases) {
          await tx.insertCase(c);
          await tx.addCorrelationKeys(c.id, c.correlationKeys);
        }
      });
    }

    describe('alerts', () => {
      it('round-trips an alert with its raw payload verbatim and its enrichment', async () => {
        const raw = {
          zeta: 1,
          alpha: [3, 2, 1],
          nested: { b: 'β', a: null, n: 1.5e-7, big: 9007199254740991 },
          text: 'line\nbreak "quoted" \u2028',
        };
        const alert = makeAlert({
          raw,
          caseId: 'case-1',
          enrichment: {
            modelId: 'm-1',
            modelName: 'Model One',
            businessUnit: 'fraud',
            tier: 2,
            owner: 'owner@example.com',
            environment: 'staging',
            blastRadius: ['m-2', 'm-3'],
            allowlisted: [
              { list: 'scanners', cidr: '198.51.100.0/24', ip: '198.51.100.4', reason: 'red team' },
            ],
          },
        });
        await store.transaction((tx) => tx.insertAlert(encodeAlert(alert)));

        const got = await store.getAlert(alert.id);
        expect(got).toEqual(alert);
        expect(JSON.stringify(got?.raw)).toBe(JSON.stringify(raw));
        expect(got?.enrichment.allowlisted[0]?.reason).toBe('red team');
        expect(got?.caseId).toBe('case-1');
      });

      it('round-trips a long description that the payload text carries', async () => {
        const description = `Prompt held "ignore previous instructions" — ${'lorem ipsum '.repeat(40)}`;
        const rawText = `{"finding":{"note":${JSON.stringify(description)},"id":7}}`;
        const alert = makeAlert({ description, raw: JSON.parse(rawText) as unknown });
        await store.transaction((tx) => tx.insertAlert(encodeAlert(alert, rawText)));
        const got = await store.getAlert(alert.id);
        expect(got).toEqual(alert);
        expect(got?.description).toBe(description);
      });

      it('keeps an alert without a case without one, and answers undefined for unknown ids', async () => {
        const alert = makeAlert();
        await store.transaction((tx) => tx.insertAlert(encodeAlert(alert)));
        expect((await store.getAlert(alert.id))?.caseId).toBeUndefined();
        expect(await store.getAlert(uuidv7())).toBeUndefined();
      });

      it('does not show uncommitted writes to store reads', async () => {
        const alert = makeAlert();
        let seenInside: NormalizedAlert | undefined = makeAlert();
        await store.transaction(async (tx) => {
          await tx.insertAlert(encodeAlert(alert));
          seenInside = await store.getAlert(alert.id);
        });
        expect(seenInside).toBeUndefined();
        expect(await store.getAlert(alert.id)).toBeDefined();
      });

      it('lists a case’s alerts oldest first, up to the limit, and only that case’s', async () => {
        const a1 = makeAlert({ caseId: 'case-a', receivedAt: at(1) });
        const a2 = makeAlert({ caseId: 'case-a', receivedAt: at(2) });
        const a3 = makeAlert({ caseId: 'case-a', receivedAt: at(3) });
        const other = makeAlert({ caseId: 'case-b', receivedAt: at(0) });
        await store.transaction(async (tx) => {
          for (const a of [a3, other, a1, a2]) await tx.insertAlert(encodeAlert(a));
        });
        expect((await store.listCaseAlerts('case-a', 10)).map((a) => a.id)).toEqual([
          a1.id,
          a2.id,
          a3.id,
        ]);
        expect((await store.listCaseAlerts('case-a', 2)).map((a) => a.id)).toEqual([a1.id, a2.id]);
        expect(await store.listCaseAlerts('case-none', 10)).toEqual([]);
      });
    });

    describe('findDedupCandidate', () => {
      it('returns the newest alert with the key last seen at or after notBefore', async () => {
        const newer = makeAlert({ dedupKey: 'k', lastSeen: at(30), count: 4, caseId: 'case-9' });
        const older = makeAlert({ dedupKey: 'k', lastSeen: at(10) });
        const otherKey = makeAlert({ dedupKey: 'other', lastSeen: at(40) });
        await store.transaction(async (tx) => {
          // The newer one goes in first so that insertion order cannot pass for recency.
          await tx.insertAlert(encodeAlert(newer));
          await tx.insertAlert(encodeAlert(older));
          await tx.insertAlert(encodeAlert(otherKey));
        });

        await store.transaction(async (tx) => {
          expect(await tx.findDedupCandidate('k', at(0))).toEqual({
            id: newer.id,
            caseId: 'case-9',
            lastSeen: at(30),
            count: 4,
          });
          expect((await tx.findDedupCandidate('k', at(20)))?.id).toBe(newer.id);
          expect((await tx.findDedupCandidate('k', at(30)))?.id).toBe(newer.id);
          expect(await tx.findDedupCandidate('k', at(31))).toBeUndefined();
          expect(await tx.findDedupCandidate('missing', at(0))).toBeUndefined();
        });
      });

      it('reports caseId null for an alert without a case', async () => {
        const alert = makeAlert({ dedupKey: 'lonely' });
        await store.transaction((tx) => tx.insertAlert(encodeAlert(alert)));
        const candidate = await store.transaction((tx) => tx.findDedupCandidate('lonely', at(0)));
        expect(candidate?.caseId).toBeNull();
      });

      it('sees an alert inserted earlier in the same transaction', async () => {
        const alert = makeAlert({ dedupKey: 'same-tx', lastSeen: at(5) });
        const found = await store.transaction(async (tx) => {
          await tx.insertAlert(encodeAlert(alert));
          return tx.findDedupCandidate('same-tx', at(0));
        });
        expect(found?.id).toBe(alert.id);
      });
    });

    describe('foldRepeat', () => {
      it('adds to the count and moves last-seen forward only', async () => {
        const alert = makeAlert({ dedupKey: 'fold', firstSeen: at(0), lastSeen: at(10), count: 2 });
        await store.transaction((tx) => tx.insertAlert(encodeAlert(alert)));

        await store.transaction((tx) => tx.foldRepeat(alert.id, at(20), 3));
        let got = await store.getAlert(alert.id);
        expect(got?.count).toBe(5);
        expect(got?.lastSeen).toBe(at(20));
        expect(got?.firstSeen).toBe(at(0));

        await store.transaction((tx) => tx.foldRepeat(alert.id, at(15), 1));
        got = await store.getAlert(alert.id);
        expect(got?.count).toBe(6);
        expect(got?.lastSeen).toBe(at(20));

        const candidate = await store.transaction((tx) => tx.findDedupCandidate('fold', at(18)));
        expect(candidate).toMatchObject({ id: alert.id, count: 6, lastSeen: at(20) });
        expect((await store.counts()).events).toBe(6);
      });
    });

    describe('cases', () => {
      it('inserts a case and reads it by id and by number, inside and outside a transaction', async () => {
        const c = makeCase(7);
        await insertCases(c);

        expect(await store.getCase(c.id)).toEqual(c);
        expect(await store.getCase('7')).toEqual(c);
        expect(await store.getCase('8')).toBeUndefined();
        expect(await store.getCase(uuidv7())).toBeUndefined();
        expect(await store.transaction((tx) => tx.getCase(c.id))).toEqual(c);
      });

      it('updates a case', async () => {
        const c = makeCase(1);
        await insertCases(c);
        const updated: Case = {
          ...c,
          status: 'in_progress',
          phase: 'containment',
          assignee: 'bob',
          severityId: 5,
          severity: 'Critical',
          modelIds: [...c.modelIds, 'fraud-scorer'],
          alertCount: 3,
          lastSeen: at(30),
          updatedAt: at(31),
        };
        await store.transaction((tx) => tx.updateCase(updated));

        expect(await store.getCase(c.id)).toEqual(updated);
        expect(await store.getCase(String(c.number))).toEqual(updated);
        const byModel = await store.listCases({ model: 'fraud-scorer' }, { limit: 10 });
        expect(byModel.items.map((x) => x.id)).toEqual([c.id]);
        const byStatus = await store.listCases({ status: ['in_progress'] }, { limit: 10 });
        expect(byStatus.items.map((x) => x.id)).toEqual([c.id]);
      });

      it('finds a case by a model it gained in an update retried after a rollback', async () => {
        const c = makeCase(1);
        await insertCases(c);
        // The same object, as a caller that retries its work would hand it over again.
        const updated: Case = { ...c, modelIds: [...c.modelIds, 'retried-model'] };
        const boom = new Error('boom');
        const failed = await rejectionOf(() =>
          store.transaction(async (tx) => {
            await tx.updateCase(updated);
            throw boom;
          }),
        );
        expect(failed).toBe(boom);
        expect((await store.listCases({ model: 'retried-model' }, { limit: 10 })).items).toEqual(
          [],
        );
        await store.transaction((tx) => tx.updateCase(updated));
        const byModel = await store.listCases({ model: 'retried-model' }, { limit: 10 });
        expect(byModel.items.map((x) => x.id)).toEqual([c.id]);
      });

      it('hands out increasing, unique case numbers across transactions', async () => {
        const first = await store.transaction(async (tx) => [
          await tx.nextCaseNumber(),
          await tx.nextCaseNumber(),
        ]);
        const second = await store.transaction((tx) => tx.nextCaseNumber());
        expect(first[0]).toBeGreaterThanOrEqual(1);
        expect(first).toEqual([first[0], (first[0] ?? 0) + 1]);
        expect(second).toBe((first[0] ?? 0) + 2);
      });
    });

    describe('unwritten cases (deferCaseUpdate)', () => {
      /** A case opened by one stored alert, its keys indexed. */
      async function openedCase(number: number, opener = makeAlert()): Promise<Case> {
        const c = openCaseFor(opener, correlationKeysOf(opener), {
          id: uuidv7(),
          number,
          now: at(0),
        });
        await store.transaction(async (tx) => {
          await tx.insertAlert(encodeAlert({ ...opener, caseId: c.id }));
          await tx.insertCase(c);
          await tx.addCorrelationKeys(c.id, c.correlationKeys);
        });
        return structuredClone(c);
      }

      /** Links a new alert to the case in a transaction that defers the case's row. */
      async function linkDeferred(caseId: string, alert: NormalizedAlert): Promise<Case> {
        return store.transaction(async (tx) => {
          const c = (await tx.getCase(caseId)) as Case;
          linkAlertToCase(c, alert, correlationKeysOf(alert), alert.receivedAt);
          await tx.insertAlert(encodeAlert({ ...alert, caseId }));
          await tx.deferCaseUpdate(c);
          return structuredClone(c);
        });
      }

      const later = (minutes: number, ip: string): NormalizedAlert => {
        const alert = makeAlert({ lastSeen: at(minutes), receivedAt: at(minutes), severityId: 5 });
        alert.observables.ips = [ip];
        alert.observables.users = [`user-${minutes}`];
        return alert;
      };

      it('serves the deferred case, as its alerts left it, on its connection and to readers', async () => {
        if (!store.defersCaseWrites) return;
        const c = await openedCase(1);
        const linked = await linkDeferred(c.id, later(5, '203.0.113.9'));
        expect(linked.alertCount).toBe(2);
        expect(await store.getCase(c.id)).toEqual(linked);
        expect(await store.getCase(String(c.number))).toEqual(linked);
        expect((await store.listCases({}, { limit: 5 })).items).toEqual([linked]);
        const seen = await store.transaction(async (tx) => structuredClone(await tx.getCase(c.id)));
        expect(seen).toEqual(linked);

        const written = await store.transaction((tx) => tx.writeUnwrittenCases());
        expect(written.map((w) => [w.case.id, w.before])).toEqual([
          [c.id, { alertCount: 1, eventCount: 1, severityId: c.severityId }],
        ]);
        expect(await store.getCase(c.id)).toEqual(linked);
        expect(await store.transaction((tx) => tx.writeUnwrittenCases())).toEqual([]);
      });

      it('writes only the deferred cases it is asked to, and the rest later', async () => {
        if (!store.defersCaseWrites) return;
        const first = await openedCase(1);
        const second = await openedCase(2);
        await linkDeferred(first.id, later(5, '203.0.113.9'));
        await linkDeferred(second.id, later(6, '198.51.100.9'));
        const named = await store.transaction((tx) =>
          tx.writeUnwrittenCases([second.id, 'no-such-case']),
        );
        expect(named.map((w) => w.case.id)).toEqual([second.id]);
        expect((await store.getCase(second.id))?.alertCount).toBe(2);
        // Not written yet, and read as its alerts left it all the same.
        expect((await store.getCase(first.id))?.alertCount).toBe(2);
        const rest = await store.transaction((tx) => tx.writeUnwrittenCases());
        expect(rest.map((w) => w.case.id)).toEqual([first.id]);
        expect((await store.getCase(first.id))?.alertCount).toBe(2);
      });

      it('updateCase writes a deferred case, so nothing is left to write', async () => {
        if (!store.defersCaseWrites) return;
        const c = await openedCase(1);
        await linkDeferred(c.id, later(5, '203.0.113.9'));
        await store.transaction(async (tx) => {
          const current = (await tx.getCase(c.id)) as Case;
          current.assignee = 'dana';
          await tx.updateCase(current);
        });
        expect(await store.getCase(c.id)).toMatchObject({ alertCount: 2, assignee: 'dana' });
        expect(await store.transaction((tx) => tx.writeUnwrittenCases())).toEqual([]);
      });

      it('a rolled-back transaction leaves the deferred case as the last commit left it', async () => {
        if (!store.defersCaseWrites) return;
        const c = await openedCase(1);
        const committed = await linkDeferred(c.id, later(5, '203.0.113.9'));
        await expect(
          store.transaction(async (tx) => {
            const current = (await tx.getCase(c.id)) as Case;
            const alert = later(9, '198.51.100.1');
            linkAlertToCase(current, alert, correlationKeysOf(alert), alert.receivedAt);
            await tx.insertAlert(encodeAlert({ ...alert, caseId: c.id }));
            await tx.deferCaseUpdate(current);
            throw new Error('boom');
          }),
        ).rejects.toThrow('boom');
        const [written] = await store.transaction((tx) => tx.writeUnwrittenCases());
        expect(written?.case).toEqual({ ...committed, updatedAt: written?.case.updatedAt });
        expect(written?.case.observables.ips).not.toContain('198.51.100.1');
        expect(written?.case.alertCount).toBe(2);
      });

      it('finds an open case by its deferred last-seen, which the row does not have yet', async () => {
        if (!store.defersCaseWrites) return;
        const c = await openedCase(1);
        await linkDeferred(c.id, later(120, '203.0.113.9'));
        const found = await store.transaction(async (tx) =>
          tx.findOpenCaseByKeys(c.correlationKeys, at(100)),
        );
        expect(found?.id).toBe(c.id);
        expect(found?.alertCount).toBe(2);
      });
    });

    describe('findOpenCaseByKeys', () => {
      it('finds an open case holding any key, last seen at or after notBefore', async () => {
        const c = makeCase(1, { correlationKeys: ['k1', 'k2'], lastSeen: at(60) });
        await insertCases(c);
        await store.transaction(async (tx) => {
          expect((await tx.findOpenCaseByKeys(['x', 'k2'], at(0)))?.id).toBe(c.id);
          expect(await tx.findOpenCaseByKeys(['k1'], at(0))).toEqual(c);
          expect((await tx.findOpenCaseByKeys(['k1'], at(60)))?.id).toBe(c.id);
          expect(await tx.findOpenCaseByKeys(['k1'], at(61))).toBeUndefined();
          expect(await tx.findOpenCaseByKeys(['x', 'y'], at(0))).toBeUndefined();
          expect(await tx.findOpenCaseByKeys([], at(0))).toBeUndefined();
        });
      });

      it('judges the window by the case’s last-seen as updated', async () => {
        const c = makeCase(1, { correlationKeys: ['k'], lastSeen: at(0) });
        await insertCases(c);
        expect(
          await store.transaction((tx) => tx.findOpenCaseByKeys(['k'], at(60))),
        ).toBeUndefined();
        await store.transaction((tx) => tx.updateCase({ ...c, lastSeen: at(120) }));
        const found = await store.transaction((tx) => tx.findOpenCaseByKeys(['k'], at(60)));
        expect(found?.lastSeen).toBe(at(120));
      });

      it('ignores a closed case once its keys are removed', async () => {
        const c = makeCase(1, { correlationKeys: ['k'] });
        await insertCases(c);
        await store.transaction(async (tx) => {
          await tx.updateCase({
            ...c,
            status: 'closed',
            closedAt: at(5),
            closureReason: 'benign',
            updatedAt: at(5),
          });
          await tx.removeCorrelationKeys(c.id);
        });
        expect(
          await store.transaction((tx) => tx.findOpenCaseByKeys(['k'], at(-60))),
        ).toBeUndefined();
      });

      it('ignores a closed case even while it still holds keys', async () => {
        const c = makeCase(1, { correlationKeys: ['k'] });
        await insertCases(c);
        await store.transaction((tx) =>
          tx.updateCase({ ...c, status: 'closed', closedAt: at(5), updatedAt: at(5) }),
        );
        expect(
          await store.transaction((tx) => tx.findOpenCaseByKeys(['k'], at(-60))),
        ).toBeUndefined();
      });

      it('stops finding an open case by keys removed from it, and finds it again when re-added', async () => {
        const c = makeCase(1, { correlationKeys: ['k'] });
        await insertCases(c);
        await store.transaction((tx) => tx.removeCorrelationKeys(c.id));
        expect(
          await store.transaction((tx) => tx.findOpenCaseByKeys(['k'], at(-60))),
        ).toBeUndefined();
        await store.transaction(async (tx) => {
          await tx.addCorrelationKeys(c.id, ['k', 'k2']);
          await tx.addCorrelationKeys(c.id, ['k']); // adding a held key again is harmless
        });
        const found = await store.transaction((tx) => tx.findOpenCaseByKeys(['k2'], at(-60)));
        expect(found?.id).toBe(c.id);
      });

      it('returns the most recently updated of several matching cases', async () => {
        const older = makeCase(1, { correlationKeys: ['shared', 'a'], updatedAt: at(10) });
        const newer = makeCase(2, { correlationKeys: ['shared', 'b'], updatedAt: at(20) });
        await insertCases(newer, older);
        expect(
          (await store.transaction((tx) => tx.findOpenCaseByKeys(['shared'], at(-60))))?.id,
        ).toBe(newer.id);
        expect(
          (await store.transaction((tx) => tx.findOpenCaseByKeys(['a', 'b'], at(-60))))?.id,
        ).toBe(newer.id);

        await store.transaction((tx) => tx.updateCase({ ...older, updatedAt: at(30) }));
        expect(
          (await store.transaction((tx) => tx.findOpenCaseByKeys(['shared'], at(-60))))?.id,
        ).toBe(older.id);
      });
    });

    describe('listCases', () => {
      const seed = (): Case[] => [
        makeCase(1, {
          status: 'open',
          severityId: 4,
          severity: 'High',
          tier: 1,
          businessUnit: 'retail',
          modelIds: ['churn'],
          updatedAt: at(3),
        }),
        makeCase(2, {
          status: 'in_progress',
          severityId: 3,
          severity: 'Medium',
          tier: 2,
          businessUnit: 'fraud',
          modelIds: ['fraud-scorer'],
          updatedAt: at(1),
        }),
        makeCase(3, {
          status: 'closed',
          severityId: 2,
          severity: 'Low',
          tier: 3,
          businessUnit: 'retail',
          modelIds: ['recs', 'churn'],
          updatedAt: at(5),
        }),
        makeCase(4, {
          status: 'open',
          severityId: 5,
          severity: 'Critical',
          tier: null,
          businessUnit: null,
          modelIds: [],
          updatedAt: at(2),
        }),
        makeCase(5, {
          status: 'open',
          severityId: 3,
          severity: 'Medium',
          tier: 1,
          businessUnit: 'fraud',
          modelIds: ['fraud-scorer'],
          updatedAt: at(4),
        }),
      ];

      async function numbers(filter: CaseFilter): Promise<number[]> {
        const page = await store.listCases(filter, { limit: 100 });
        expect(page.nextCursor).toBeNull();
        return page.items.map((c) => c.number);
      }

      it('lists every case, most recently updated first, as stored', async () => {
        const cases = seed();
        await insertCases(...cases);
        const page = await store.listCases({}, { limit: 100 });
        const [c1, c2, c3, c4, c5] = cases;
        expect(page.items).toEqual([c3, c5, c1, c4, c2]);
        expect(page.nextCursor).toBeNull();
      });

      it('filters on status, severity, tier, business unit, model and scope', async () => {
        await insertCases(...seed());
        expect(await numbers({ status: ['closed'] })).toEqual([3]);
        expect(await numbers({ status: ['open', 'in_progress'] })).toEqual([5, 1, 4, 2]);
        expect(await numbers({ severityId: [3] })).toEqual([5, 2]);
        expect(await numbers({ severityId: [5, 2] })).toEqual([3, 4]);
        expect(await numbers({ tier: [1] })).toEqual([5, 1]);
        expect(await numbers({ tier: [2, 3] })).toEqual([3, 2]);
        expect(await numbers({ businessUnit: ['retail'] })).toEqual([3, 1]);
        expect(await numbers({ model: 'churn' })).toEqual([3, 1]);
        expect(await numbers({ model: 'fraud-scorer' })).toEqual([5, 2]);
        expect(await numbers({ model: 'nobody' })).toEqual([]);
        expect(await numbers({ scopeUnits: ['fraud'] })).toEqual([5, 2]);
        expect(await numbers({ scopeUnits: ['fraud', 'retail'] })).toEqual([3, 5, 1, 2]);
        expect(await numbers({ status: ['open'], tier: [1], scopeUnits: ['retail'] })).toEqual([1]);
        expect(await numbers({ businessUnit: ['retail'], scopeUnits: ['fraud'] })).toEqual([]);
      });

      it('matches nothing on an empty list filter', async () => {
        await insertCases(...seed());
        for (const filter of [
          { status: [] },
          { severityId: [] },
          { tier: [] },
          { businessUnit: [] },
          { scopeUnits: [] },
        ] satisfies CaseFilter[]) {
          const page = await store.listCases(filter, { limit: 100 });
          expect(page, JSON.stringify(filter)).toEqual({ items: [], nextCursor: null });
        }
      });

      it('walks every case exactly once in updatedAt-desc order through cursors', async () => {
        const cases: Case[] = [];
        for (let i = 1; i <= 23; i++) {
          // Out of step with creation (and id) order, with ties that must be paged correctly.
          cases.push(makeCase(i, { updatedAt: at((i * 7) % 8) }));
        }
        // Inserted shuffled, so insertion order cannot pass for the sort order.
        await insertCases(
          ...cases.filter((_, i) => i % 2 === 1),
          ...cases.filter((_, i) => i % 2 === 0),
        );

        const seen: Case[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await store.listCases({}, { limit: 5, ...(cursor ? { cursor } : {}) });
          pages += 1;
          expect(page.items.length).toBeLessThanOrEqual(5);
          seen.push(...page.items);
          cursor = page.nextCursor ?? undefined;
          expect(pages).toBeLessThan(10);
        } while (cursor);

        expect(pages).toBe(5);
        expect(seen.map((c) => c.id).sort()).toEqual(cases.map((c) => c.id).sort());
        expect(new Set(seen.map((c) => c.id)).size).toBe(23);
        for (let i = 1; i < seen.length; i++) {
          expect((seen[i - 1]?.updatedAt ?? '') >= (seen[i]?.updatedAt ?? '')).toBe(true);
        }
      });

      it('pages a filtered listing without an empty last page', async () => {
        const cases: Case[] = [];
        for (let i = 1; i <= 12; i++) {
          cases.push(
            makeCase(i, { businessUnit: i % 2 === 0 ? 'fraud' : 'retail', updatedAt: at(13 - i) }),
          );
        }
        await insertCases(...cases);
        const first = await store.listCases({ businessUnit: ['fraud'] }, { limit: 3 });
        expect(first.items.map((c) => c.number)).toEqual([2, 4, 6]);
        expect(first.nextCursor).toEqual(expect.any(String));
        const second = await store.listCases(
          { businessUnit: ['fraud'] },
          { limit: 3, cursor: first.nextCursor ?? '' },
        );
        expect(second.items.map((c) => c.number)).toEqual([8, 10, 12]);
        expect(second.nextCursor).toBeNull();
      });

      it('rejects a cursor it did not issue with invalid_field', async () => {
        await insertCases(...seed());
        for (const cursor of [
          'garbage',
          '!!!',
          Buffer.from('{"x":1}').toString('base64url'),
          Buffer.from('null').toString('base64url'),
          Buffer.from('[1,2]').toString('base64url'),
        ]) {
          const error = await rejectionOf(() => store.listCases({}, { limit: 5, cursor }));
          expect(error, cursor).toBeInstanceOf(WardenError);
          expect(error, cursor).toMatchObject({ code: 'invalid_field', field: 'cursor' });
        }
      });
    });

    describe('timeline', () => {
      it('lists a case’s timeline in the order it was written, with its data', async () => {
        const c = makeCase(1);
        const other = makeCase(2);
        await insertCases(c, other);
        const entries = [
          timelineEntry(c.id, { kind: 'created', message: 'zz opened', at: at(0) }),
          timelineEntry(c.id, {
            kind: 'alerts_linked',
            message: 'mm linked',
            at: at(1),
            data: { alertIds: ['a', 'b'], linked: 2 },
          }),
        ];
        const later = timelineEntry(c.id, {
          kind: 'comment',
          message: 'aa comment',
          at: at(2),
          actor: 'alice',
        });
        await store.transaction(async (tx) => {
          for (const e of entries) await tx.appendTimeline(e);
          await tx.appendTimeline(timelineEntry(other.id));
        });
        await store.transaction((tx) => tx.appendTimeline(later));

        expect(await store.listTimeline(c.id)).toEqual([...entries, later]);
        expect((await store.listTimeline(other.id)).length).toBe(1);
        expect(await store.listTimeline('no-such-case')).toEqual([]);
      });

      it('pages a long timeline newest first, each page oldest first', async () => {
        const c = makeCase(1);
        await insertCases(c);
        const entries = Array.from({ length: 7 }, (_, i) =>
          timelineEntry(c.id, { message: `entry ${i}`, at: at(i) }),
        );
        await store.transaction(async (tx) => {
          for (const e of entries) await tx.appendTimeline(e);
        });
        const latest = await store.listTimeline(c.id, { limit: 3 });
        expect(latest.map((e) => e.message)).toEqual(['entry 4', 'entry 5', 'entry 6']);
        const older = await store.listTimeline(c.id, { limit: 3, before: latest[0]?.id as string });
        expect(older.map((e) => e.message)).toEqual(['entry 1', 'entry 2', 'entry 3']);
        const oldest = await store.listTimeline(c.id, { limit: 3, before: older[0]?.id as string });
        expect(oldest.map((e) => e.message)).toEqual(['entry 0']);
      });

      it('lists only the entries of the kinds asked for, oldest first, inside a transaction too', async () => {
        const c = makeCase(1);
        const other = makeCase(2);
        await insertCases(c, other);
        const task = timelineEntry(c.id, { kind: 'task', message: 'check', at: at(0) });
        const comment = timelineEntry(c.id, { kind: 'comment', message: 'hm', at: at(1) });
        const done = timelineEntry(c.id, {
          kind: 'task_done',
          message: 'done: check',
          at: at(2),
          data: { taskId: task.id },
        });
        await store.transaction(async (tx) => {
          await tx.appendTimeline(task);
          await tx.appendTimeline(comment);
          await tx.appendTimeline(timelineEntry(other.id, { kind: 'task' }));
        });
        const seenInside = await store.transaction(async (tx) => {
          await tx.appendTimeline(done);
          return tx.listTimelineKinds(c.id, ['task', 'task_done']);
        });
        expect(seenInside).toEqual([task, done]);
        expect(await store.listTimelineKinds(c.id, ['task', 'task_done'])).toEqual([task, done]);
        expect(await store.listTimelineKinds(c.id, ['comment'])).toEqual([comment]);
        expect(await store.listTimelineKinds(c.id, [])).toEqual([]);
        expect(await store.listTimelineKinds('no-such-case', ['task'])).toEqual([]);
      });
    });

    describe('audit log', () => {
      it('chains appended entries: seq 1..n, each linking to the one before', async () => {
        const first = await store.transaction(async (tx) => [
          await tx.appendAudit(draft('a.one', { n: 1 })),
          await tx.appendAudit(draft('a.two', { nested: { z: 1, a: [1, 'x'] } })),
        ]);
        const second = await store.transaction((tx) => tx.appendAudit(draft('a.three')));
        const appended = [...first, second];

        expect(appended.map((e) => e.seq)).toEqual([1, 2, 3]);
        expect(appended[0]?.prevHash).toBe(AUDIT_GENESIS_HASH);
        expect(appended[1]?.prevHash).toBe(appended[0]?.hash);
        expect(appended[2]?.prevHash).toBe(appended[1]?.hash);
        for (const e of appended) {
          const { seq, prevHash, hash, ...rest } = e;
          expect(hash).toBe(auditHash(seq, prevHash, rest));
        }
        expect(new Set(appended.map((e) => e.hash)).size).toBe(3);

        const stored = await store.readAudit(0, 100);
        expect(stored).toEqual(appended);
        expect(await store.readAudit(1, 1)).toEqual([appended[1]]);
        expect(await store.readAudit(3, 10)).toEqual([]);
        expect(await store.recordedAuditCount()).toBe(3);

        const verifier = new AuditChainVerifier();
        for (const e of stored) verifier.push(e);
        expect(verifier.finish(await store.recordedAuditCount())).toEqual({
          ok: true,
          entries: 3,
          problems: [],
        });
      });

      it('starts empty', async () => {
        expect(await store.readAudit(0, 10)).toEqual([]);
        expect(await store.recordedAuditCount()).toBe(0);
      });
    });

    describe('transactions', () => {
      it('rolls back every write when the work throws', async () => {
        const kept = makeAlert({ count: 1 });
        const keptEntry = await store.transaction(async (tx) => {
          await tx.insertAlert(encodeAlert(kept));
          return tx.appendAudit(draft('kept'));
        });
        const countsBefore = await store.counts();

        const alert = makeAlert();
        const c = makeCase(99, { correlationKeys: ['rollback-key'] });
        const token = makeToken();
        const boom = new Error('boom');
        const error = await rejectionOf(() =>
          store.transaction(async (tx) => {
            await tx.insertAlert(encodeAlert(alert));
            await tx.foldRepeat(kept.id, at(90), 10);
            await tx.nextCaseNumber();
            await tx.insertCase(c);
            await tx.addCorrelationKeys(c.id, c.correlationKeys);
            await tx.appendTimeline(timelineEntry(c.id));
            await tx.appendAudit(draft('lost'));
            await tx.insertToken(token);
            throw boom;
          }),
        );
        expect(error).toBe(boom);

        expect(await store.getAlert(alert.id)).toBeUndefined();
        expect((await store.getAlert(kept.id))?.count).toBe(1);
        expect(await store.getCase(c.id)).toBeUndefined();
        expect(await store.getCase('99')).toBeUndefined();
        expect(await store.listTimeline(c.id)).toEqual([]);
        expect(await store.readAudit(0, 10)).toEqual([keptEntry]);
        expect(await store.recordedAuditCount()).toBe(1);
        expect(await store.getToken(token.id)).toBeUndefined();
        expect(await store.findTokenByHash(token.tokenHash)).toBeUndefined();
        expect(await store.counts()).toEqual(countsBefore);
        expect(
          await store.transaction((tx) => tx.findOpenCaseByKeys(['rollback-key'], at(-60))),
        ).toBeUndefined();

        // The store is still usable, and the chain continues from the kept head.
        const next = await store.transaction((tx) => tx.appendAudit(draft('after')));
        expect(next.seq).toBe(2);
        expect(next.prevHash).toBe(keptEntry.hash);
      });

      it('resolves with the work’s result', async () => {
        expect(await store.transaction(() => Promise.resolve(42))).toBe(42);
      });

      it('runs concurrent transactions one at a time, in the order they were started', async () => {
        let shared = 0;
        let active = 0;
        let maxActive = 0;
        const runs = Array.from({ length: 8 }, (_, i) =>
          store.transaction(async (tx) => {
            active += 1;
            maxActive = Math.max(maxActive, active);
            const read = shared;
            // Yield mid-transaction: unserialised work would interleave here.
            await new Promise((resolve) => setTimeout(resolve, 2));
            const number = await tx.nextCaseNumber();
            shared = read + 1;
            active -= 1;
            return { i, number };
          }),
        );
        const results = await Promise.all(runs);

        expect(maxActive).toBe(1);
        expect(shared).toBe(8);
        const numbers = results.map((r) => r.number);
        expect(new Set(numbers).size).toBe(8);
        expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
      });

      it('keeps serving queued transactions after one of them fails', async () => {
        const a = makeAlert();
        const b = makeAlert();
        const results = await Promise.allSettled([
          store.transaction((tx) => tx.insertAlert(encodeAlert(a))),
          store.transaction(async (tx) => {
            await tx.appendAudit(draft('doomed'));
            throw new Error('fails');
          }),
          store.transaction((tx) => tx.insertAlert(encodeAlert(b))),
        ]);
        expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
        expect(await store.getAlert(a.id)).toBeDefined();
        expect(await store.getAlert(b.id)).toBeDefined();
        expect(await store.recordedAuditCount()).toBe(0);
      });
    });

    describe('tokens', () => {
      it('inserts tokens and finds them by hash and by id', async () => {
        const all = makeToken({ role: 'admin', units: null });
        const scoped = makeToken({ role: 'viewer', units: ['fraud', 'retail'] });
        const none = makeToken({ role: 'analyst', units: [] });
        await store.transaction(async (tx) => {
          for (const t of [all, scoped, none]) await tx.insertToken(t);
        });

        expect(await store.findTokenByHash(all.tokenHash)).toEqual(all);
        expect(await store.findTokenByHash(scoped.tokenHash)).toEqual(scoped);
        expect(await store.getToken(none.id)).toEqual(none);
        expect(await store.getToken(scoped.id)).toEqual(scoped);
        expect(await store.findTokenByHash('f'.repeat(64))).toBeUndefined();
        expect(await store.getToken('nope')).toBeUndefined();
      });

      it('upserts: replaces the hash, role and units of an existing id, inserts a new one', async () => {
        const original = makeToken({ id: 'admin-env', role: 'admin' });
        await store.transaction((tx) => tx.upsertToken(original));
        expect(await store.getToken('admin-env')).toEqual(original);

        const rotated: ApiToken = {
          ...original,
          tokenHash: 'b'.repeat(64),
          role: 'viewer',
          units: ['fraud'],
        };
        await store.transaction((tx) => tx.upsertToken(rotated));
        expect(await store.findTokenByHash(original.tokenHash)).toBeUndefined();
        expect(await store.findTokenByHash(rotated.tokenHash)).toMatchObject({
          id: 'admin-env',
          role: 'viewer',
          units: ['fraud'],
        });
        expect(await store.getToken('admin-env')).toMatchObject({ tokenHash: rotated.tokenHash });
      });
    });

    describe('token listing and revocation', () => {
      it('lists tokens oldest first and deletes one, which then no longer resolves', async () => {
        const older = makeToken({ createdAt: at(1) });
        const newer = makeToken({ createdAt: at(2) });
        await store.transaction(async (tx) => {
          await tx.insertToken(newer);
          await tx.insertToken(older);
        });
        expect((await store.listTokens()).map((t) => t.id)).toEqual([older.id, newer.id]);
        expect(await store.transaction((tx) => tx.deleteToken(older.id))).toBe(true);
        expect(await store.transaction((tx) => tx.deleteToken(older.id))).toBe(false);
        expect(await store.findTokenByHash(older.tokenHash)).toBeUndefined();
        expect((await store.listTokens()).map((t) => t.id)).toEqual([newer.id]);
      });
    });

    describe('counts', () => {
      it('counts alerts, events including folded repeats, cases and open cases', async () => {
        expect(await store.counts()).toEqual({ alerts: 0, events: 0, cases: 0, openCases: 0 });
        const a = makeAlert({ count: 3 });
        const b = makeAlert({ count: 1 });
        await store.transaction(async (tx) => {
          await tx.insertAlert(encodeAlert(a));
          await tx.insertAlert(encodeAlert(b));
          await tx.foldRepeat(b.id, at(5), 4);
          await tx.insertCase(makeCase(1, { status: 'open' }));
          await tx.insertCase(makeCase(2, { status: 'in_progress' }));
          await tx.insertCase(makeCase(3, { status: 'closed' }));
        });
        expect(await store.counts()).toEqual({ alerts: 2, events: 8, cases: 3, openCases: 2 });
      });
    });

    describe('playbook runs', () => {
      it('round-trips a run with its state and command, and updates it in place', async () => {
        const run = makeRun();
        await store.transaction((tx) => tx.insertRun(run));
        expect(await store.getRun(run.id)).toEqual(run);

        const waiting: PlaybookRunRecord = {
          ...run,
          status: 'waiting',
          wakeAt: at(30),
          state: { cursor: 2, steps: { intel: { status: 'succeeded', output: { score: 9.5 } } } },
          command: { kind: 'approval', stepId: 'approve_block' },
          updatedAt: at(1),
          // Identity fields are not rewritten by an update.
          caseId: 'other-case',
        };
        await store.transaction((tx) => tx.updateRun(waiting));
        expect(await store.getRun(run.id)).toEqual({ ...waiting, caseId: run.caseId });
        expect(
          await rejectionOf(() => store.transaction((tx) => tx.updateRun(makeRun()))),
        ).toMatchObject({
          code: 'not_found',
        });
      });

      it('lists a case’s runs oldest first', async () => {
        const later = makeRun({ createdAt: at(5) });
        const earlier = makeRun({ createdAt: at(1) });
        await store.transaction(async (tx) => {
          await tx.insertRun(later);
          await tx.insertRun(earlier);
          await tx.insertRun(makeRun({ caseId: 'case-2' }));
        });
        expect((await store.listRunsForCase('case-1')).map((r) => r.id)).toEqual([
          earlier.id,
          later.id,
        ]);
      });

      it('finds due runs: queued and running always, waiting once woken, finished never', async () => {
        const queued = makeRun({ status: 'queued', updatedAt: at(3) });
        const running = makeRun({ status: 'running', updatedAt: at(1) });
        const wokenUp = makeRun({ status: 'waiting', wakeAt: at(10), updatedAt: at(2) });
        const asleep = makeRun({ status: 'waiting', wakeAt: at(11) });
        const done = makeRun({ status: 'succeeded', finishedAt: at(1) });
        const failed = makeRun({ status: 'failed', finishedAt: at(1) });
        await store.transaction(async (tx) => {
          for (const r of [queued, running, wokenUp, asleep, done, failed]) await tx.insertRun(r);
        });
        expect(await store.dueRunIds(at(10), 10)).toEqual([running.id, wokenUp.id, queued.id]);
        expect(await store.dueRunIds(at(10), 1)).toEqual([running.id]);
        expect(await store.queuedRunIds(10)).toEqual([queued.id]);

        // Waking a waiting run makes it due; waking a finished one does nothing.
        await store.transaction(async (tx) => {
          await tx.wakeRun(asleep.id, at(9));
          await tx.wakeRun(done.id, at(9));
        });
        const due = await store.dueRunIds(at(10), 10);
        expect(due).toContain(asleep.id);
        expect(due).not.toContain(done.id);
      });

      it('takes the due runs updated longest ago first, whatever their status, up to the limit', async () => {
        const runs = [
          makeRun({ status: 'queued', updatedAt: at(6) }),
          makeRun({ status: 'waiting', wakeAt: at(9), updatedAt: at(3) }),
          makeRun({ status: 'queued', updatedAt: at(2) }),
          makeRun({ status: 'running', updatedAt: at(4) }),
          makeRun({ status: 'waiting', wakeAt: at(9), updatedAt: at(5) }),
          makeRun({ status: 'queued', updatedAt: at(7) }),
          makeRun({ status: 'waiting', wakeAt: at(12), updatedAt: at(1) }),
        ];
        await store.transaction(async (tx) => {
          for (const r of runs) await tx.insertRun(r);
        });
        const ids = (...indexes: number[]): string[] => indexes.map((i) => runs[i]?.id ?? '');
        expect(await store.dueRunIds(at(10), 3)).toEqual(ids(2, 1, 3));
        expect(await store.dueRunIds(at(10), 10)).toEqual(ids(2, 1, 3, 4, 0, 5));
        expect(await store.queuedRunIds(2)).toEqual(ids(2, 0));
        expect(await store.queuedRunIds(10)).toEqual(ids(2, 0, 5));
      });

      it('numbers run events across transactions and reads them in order', async () => {
        const event = (kind: string, stepId: string | null) => ({
          at: at(0),
          kind,
          stepId,
          data: { why: `${kind} ✓` },
        });
        await store.transaction((tx) =>
          tx.appendRunEvents('run-1', [event('run_started', null), event('step_started', 'intel')]),
        );
        await store.transaction((tx) => tx.appendRunEvents('run-1', [event('branch', 'external')]));
        await store.transaction((tx) => tx.appendRunEvents('run-2', [event('run_started', null)]));
        const events = await store.listRunEvents('run-1');
        expect(events.map((e) => [e.seq, e.kind, e.stepId])).toEqual([
          [1, 'run_started', null],
          [2, 'step_started', 'intel'],
          [3, 'branch', 'external'],
        ]);
        expect(events[0]).toMatchObject({ runId: 'run-1', data: { why: 'run_started ✓' } });
      });

      it('numbers on from what was committed after an append rolled back', async () => {
        const event = (kind: string) => ({ at: at(0), kind, stepId: null, data: {} });
        await store.transaction((tx) => tx.appendRunEvents('run-1', [event('a'), event('b')]));
        await rejectionOf(() =>
          store.transaction(async (tx) => {
            await tx.appendRunEvents('run-1', [event('lost')]);
            throw new Error('crash');
          }),
        );
        await store.transaction(async (tx) => {
          await tx.appendRunEvents('run-1', []);
          await tx.appendRunEvents('run-1', [event('c')]);
          await tx.appendRunEvents('run-1', [event('d'), event('e')]);
        });
        expect((await store.listRunEvents('run-1')).map((e) => [e.seq, e.kind])).toEqual([
          [1, 'a'],
          [2, 'b'],
          [3, 'c'],
          [4, 'd'],
          [5, 'e'],
        ]);
      });

      it('leaves no run and no event behind when the transaction fails', async () => {
        const run = makeRun();
        await rejectionOf(() =>
          store.transaction(async (tx) => {
            await tx.insertRun(run);
            await tx.appendRunEvents(run.id, [{ at: at(0), kind: 'x', stepId: null, data: {} }]);
            throw new Error('crash');
          }),
        );
        expect(await store.getRun(run.id)).toBeUndefined();
        expect(await store.listRunEvents(run.id)).toEqual([]);
      });
    });

    describe('approvals', () => {
      it('round-trips, records an answer, and lists by status and unit, newest first, paged', async () => {
        const old = makeApproval({ requestedAt: at(1) });
        const recent = makeApproval({ requestedAt: at(2) });
        const otherUnit = makeApproval({ requestedAt: at(3), businessUnit: 'retail' });
        await store.transaction(async (tx) => {
          for (const a of [old, recent, otherUnit]) await tx.insertApproval(a);
        });
        expect(await store.getApproval(old.id)).toEqual(old);

        const answered: ApprovalRecord = {
          ...old,
          status: 'approved',
          answeredBy: 'rita',
          answeredRole: 'responder',
          answeredAt: at(4),
          comment: 'range belongs to nobody we know',
          message: 'not rewritten',
        };
        await store.transaction((tx) => tx.updateApproval(answered));
        expect(await store.getApproval(old.id)).toEqual({ ...answered, message: old.message });

        const ids = async (filter: Parameters<Store['listApprovals']>[0]) =>
          (await store.listApprovals(filter, { limit: 10 })).items.map((a) => a.id);
        expect(await ids({ status: ['pending'] })).toEqual([otherUnit.id, recent.id]);
        expect(await ids({ scopeUnits: ['fraud'] })).toEqual([recent.id, old.id]);
        expect(await ids({ scopeUnits: [] })).toEqual([]);

        const first = await store.listApprovals({}, { limit: 2 });
        expect(first.items.map((a) => a.id)).toEqual([otherUnit.id, recent.id]);
        const second = await store.listApprovals({}, { limit: 2, cursor: first.nextCursor ?? '' });
        expect(second).toEqual({
          items: [{ ...answered, message: old.message }],
          nextCursor: null,
        });

        expect(
          await rejectionOf(() => store.transaction((tx) => tx.updateApproval(makeApproval()))),
        ).toMatchObject({ code: 'not_found' });
        // An answer stands: a second one (or a late timeout) is a conflict.
        expect(
          await rejectionOf(() =>
            store.transaction((tx) => tx.updateApproval({ ...answered, status: 'denied' })),
          ),
        ).toMatchObject({
          code: 'conflict',
          message: expect.stringContaining('already approved') as string,
        });
        expect((await store.getApproval(old.id))?.status).toBe('approved');
      });

      it('lists the pending approvals not announced yet, oldest first', async () => {
        const announced = makeApproval({ requestedAt: at(1) });
        const later = makeApproval({ requestedAt: at(3) });
        const earlier = makeApproval({ requestedAt: at(2) });
        const answered = makeApproval({ requestedAt: at(1) });
        await store.transaction(async (tx) => {
          for (const a of [announced, later, earlier, answered]) await tx.insertApproval(a);
          await tx.markApprovalAnnounced(announced.id, at(1));
          await tx.updateApproval({ ...answered, status: 'denied', answeredAt: at(2) });
        });
        const ids = async () => (await store.listUnannouncedApprovals()).map((a) => a.id);
        expect(await ids()).toEqual([earlier.id, later.id]);
        expect(await store.listUnannouncedApprovals()).toContainEqual(earlier);
        await store.transaction((tx) => tx.markApprovalAnnounced(earlier.id, at(6)));
        expect(await ids()).toEqual([later.id]);
        // The announcement is bookkeeping: the approval reads as it did.
        expect(await store.getApproval(announced.id)).toEqual(announced);
      });
    });

    describe('effects', () => {
      it('records a call as sent, then its result under the same idempotency key', async () => {
        const sent = makeEffect();
        await store.transaction((tx) => tx.putEffect(sent));
        expect(await store.getEffect(sent.idempotencyKey)).toEqual(sent);

        const done: EffectRecord = {
          ...sent,
          status: 'succeeded',
          output: { ruleId: 17 },
          exchange: { method: 'POST', status: 200 },
          finishedAt: at(1),
        };
        await store.transaction((tx) => tx.putEffect(done));
        expect(await store.getEffect(sent.idempotencyKey)).toEqual(done);
        expect(await store.getEffect('nope')).toBeUndefined();
      });
    });

    describe('dead letters', () => {
      it('round-trips a dead letter with its body verbatim and lists newest first, paged', async () => {
        const old = makeDeadLetter({ receivedAt: at(1), source: 'splunk', field: 'search_name' });
        const mid = makeDeadLetter({ receivedAt: at(2) });
        const recent = makeDeadLetter({ receivedAt: at(3), reasonCode: 'malformed_json' });
        await store.transaction(async (tx) => {
          for (const d of [old, mid, recent]) await tx.insertDeadLetter(d);
        });
        expect(await store.getDeadLetter(old.id)).toEqual(old);
        expect(await store.getDeadLetter('nope')).toBeUndefined();

        const first = await store.listDeadLetters({ limit: 2 });
        expect(first.items).toEqual([recent, mid]);
        const second = await store.listDeadLetters({ limit: 2, cursor: first.nextCursor ?? '' });
        expect(second).toEqual({ items: [old], nextCursor: null });
        expect((await store.listDeadLetters({ limit: 3 })).nextCursor).toBeNull();
        expect(
          await rejectionOf(() => store.listDeadLetters({ limit: 2, cursor: 'bogus' })),
        ).toMatchObject({ code: 'invalid_field', field: 'cursor' });
      });

      it('records a replay: a success keeps the reason, a refusal replaces it', async () => {
        const ok = makeDeadLetter({ field: 'title', reasonCode: 'missing_field' });
        const again = makeDeadLetter({ field: 'title', reasonCode: 'missing_field' });
        await store.transaction(async (tx) => {
          await tx.insertDeadLetter(ok);
          await tx.insertDeadLetter(again);
        });
        const success = { status: 'new', alertId: 'a-1', caseId: 'c-1' } as const;
        const refusal = {
          status: 'rejected',
          code: 'undetected_source_format',
          message: 'could not recognise the alert format',
          field: null,
        } as const;
        await store.transaction(async (tx) => {
          await tx.markDeadLetterReplayed(ok.id, at(5), success);
          await tx.markDeadLetterReplayed(again.id, at(6), refusal);
        });
        expect(await store.getDeadLetter(ok.id)).toEqual({
          ...ok,
          replayedAt: at(5),
          replayResult: success,
        });
        expect(await store.getDeadLetter(again.id)).toEqual({
          ...again,
          reasonCode: refusal.code,
          reason: refusal.message,
          field: null,
          replayedAt: at(6),
          replayResult: refusal,
        });
        expect(
          await rejectionOf(() =>
            store.transaction((tx) => tx.markDeadLetterReplayed('nope', at(7), success)),
          ),
        ).toMatchObject({ code: 'not_found' });
      });

      it('leaves no dead letter behind when the transaction fails', async () => {
        const lost = makeDeadLetter();
        await rejectionOf(() =>
          store.transaction(async (tx) => {
            await tx.insertDeadLetter(lost);
            throw new Error('boom');
          }),
        );
        expect(await store.getDeadLetter(lost.id)).toBeUndefined();
        expect((await store.listDeadLetters({ limit: 10 })).items).toEqual([]);
      });
    });
    describe('evidence', () => {
      const source = { actor: 'playbook:demo', runId: 'r-1', stepId: 'block' };
      function item(caseId: string, name: string, content: unknown) {
        return sealEvidence({
          id: uuidv7(),
          caseId,
          name,
          kind: 'action_record',
          source,
          collectedAt: at(1),
          content,
        });
      }

      it('keeps bytes verbatim with their hash, lists a case oldest first without content', async () => {
        const c = makeCase(1);
        await insertCases(c);
        const binary = item(c.id, 'dump.bin', new Uint8Array([0, 255, 1, 254, 10, 13]));
        const json = item(c.id, 'network.block_ip_range', { request: { cidr: '203.0.113.0/24' } });
        await store.transaction(async (tx) => {
          await tx.insertEvidence(binary);
          await tx.insertEvidence(json);
        });
        const stored = await store.getEvidence(binary.id);
        expect(Buffer.from(stored?.content ?? []).equals(Buffer.from(binary.content))).toBe(true);
        expect(stored).toMatchObject({ sha256: binary.sha256, sizeBytes: 6, source });
        const listed = await store.listEvidence(c.id);
        expect(listed.map((e) => e.name)).toEqual(['dump.bin', 'network.block_ip_range']);
        expect(listed[1]).toEqual(evidenceSummary(json));
        expect('content' in (listed[0] ?? {})).toBe(false);
        expect(await store.getEvidence('nope')).toBeUndefined();
        expect(await store.listEvidence('other-case')).toEqual([]);
      });

      it('refuses a second item with the same id', async () => {
        const c = makeCase(1);
        await insertCases(c);
        const first = item(c.id, 'a', 'one');
        await store.transaction((tx) => tx.insertEvidence(first));
        await rejectionOf(() =>
          store.transaction((tx) => tx.insertEvidence({ ...item(c.id, 'b', 'two'), id: first.id })),
        );
        expect(Buffer.from((await store.getEvidence(first.id))?.content ?? []).toString()).toBe(
          'one',
        );
      });

      it('keeps a chain of custody per item and per case, oldest first', async () => {
        const c = makeCase(1);
        await insertCases(c);
        const a = item(c.id, 'a', 'one');
        const b = item(c.id, 'b', 'two');
        await store.transaction(async (tx) => {
          await tx.insertEvidence(a);
          await tx.insertEvidence(b);
          await tx.appendCustody({
            evidenceId: a.id,
            at: at(1),
            actor: 'playbook:demo',
            action: 'collected',
            detail: {},
          });
          await tx.appendCustody({
            evidenceId: b.id,
            at: at(1),
            actor: 'playbook:demo',
            action: 'collected',
            detail: {},
          });
        });
        await store.transaction((tx) =>
          tx.appendCustody({
            evidenceId: a.id,
            at: at(2),
            actor: 'alice',
            action: 'read',
            detail: { tokenId: 't-1' },
          }),
        );
        expect(
          (await store.listCustody({ evidenceId: a.id })).map((e) => [e.actor, e.action]),
        ).toEqual([
          ['playbook:demo', 'collected'],
          ['alice', 'read'],
        ]);
        expect((await store.listCustody({ caseId: c.id })).map((e) => e.evidenceId)).toEqual([
          a.id,
          b.id,
          a.id,
        ]);
        expect((await store.listCustody({ evidenceId: a.id }))[1]?.detail).toEqual({
          tokenId: 't-1',
        });
        expect(
          await rejectionOf(() =>
            store.transaction((tx) =>
              tx.appendCustody({
                evidenceId: 'nope',
                at: at(3),
                actor: 'x',
                action: 'read',
                detail: {},
              }),
            ),
          ),
        ).toMatchObject({ code: 'not_found' });
      });

      it('scans every item in id order, paged', async () => {
        const c = makeCase(1);
        await insertCases(c);
        const items = [item(c.id, 'a', '1'), item(c.id, 'b', '2'), item(c.id, 'c', '3')];
        await store.transaction(async (tx) => {
          for (const e of items) await tx.insertEvidence(e);
        });
        const first = await store.scanEvidence(null, 2);
        expect(first.map((e) => e.name)).toEqual(['a', 'b']);
        const rest = await store.scanEvidence(first[1]?.id ?? null, 2);
        expect(rest.map((e) => e.name)).toEqual(['c']);
        expect(Buffer.from(rest[0]?.content ?? []).toString()).toBe('3');
      });

      it('leaves no evidence behind when the transaction fails', async () => {
        const c = makeCase(1);
        await insertCases(c);
        const lost = item(c.id, 'lost', 'x');
        await rejectionOf(() =>
          store.transaction(async (tx) => {
            await tx.insertEvidence(lost);
            throw new Error('boom');
          }),
        );
        expect(await store.listEvidence(c.id)).toEqual([]);
      });
    });
  });
}
