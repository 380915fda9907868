import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { caseTasks, TASK_TIMELINE_KINDS } from '../core/case-tasks.js';
import type { Principal } from '../core/access.js';
import { InventoryIndex } from '../core/inventory.js';
import type { PlaybookRouter } from '../core/playbook-router.js';
import { loadContainmentPolicy } from '../config/policy-config.js';
import { loadWardenConfig } from '../config/warden-config.js';
import type { JsonValue, Playbook } from '../playbooks/playbook.js';
import { loadPlaybooks, parsePlaybook } from '../playbooks/playbook-loader.js';
import { normalizePayload } from '../sources/source-registry.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import type { StoreTransaction } from '../store/store.js';
import { AlertPreparer } from './alert-preparer.js';
import { ApprovalWorkflow } from './approval-workflow.js';
import { verifyAuditLog } from './audit-verification.js';
import { IngestPipeline } from './ingest-pipeline.js';
import { PlaybookExecutor, type ExecutorConnectors } from './playbook-executor.js';

const DEMO = fileURLToPath(new URL('../../examples/demo', import.meta.url));
const TESTDATA = fileURLToPath(new URL('../playbooks/testdata', import.meta.url));
const config = loadWardenConfig(DEMO);
const inventory = new InventoryIndex(config.inventory);
const policy = loadContainmentPolicy(DEMO);

type Request = Parameters<ExecutorConnectors['call']>[1];
interface Call {
  connector: string;
  action: string;
  input: JsonValue;
  key: string;
  attempt: number;
}

/** Connectors as the executor sees them, answering from a script and recording every call. */
class FakeConnectors implements ExecutorConnectors {
  readonly calls: Call[] = [];
  readonly reconciled: string[] = [];
  constructor(
    private readonly answers: Record<
      string,
      (request: Request) => Promise<{ output: JsonValue }>
    > = {},
    private readonly reconciliation: 'done' | 'not_done' | 'unknown' = 'unknown',
  ) {}

  call(connector: string, request: Request): Promise<{ output: JsonValue }> {
    this.calls.push({
      connector,
      action: request.action,
      input: request.input,
      key: request.idempotencyKey,
      attempt: request.attempt,
    });
    const answer = this.answers[`${connector}.${request.action}`];
    return answer ? answer(request) : Promise.resolve({ output: {} });
  }

  reconcile(_connector: string, request: Request) {
    this.reconciled.push(request.idempotencyKey);
    return Promise.resolve(
      this.reconciliation === 'done'
        ? { state: 'done' as const, output: { ruleId: 'from-reconcile' } }
        : { state: this.reconciliation },
    );
  }
}

const responder: Principal = { tokenId: 't1', name: 'rita', role: 'responder', units: null };
const viewer: Principal = { tokenId: 't2', name: 'vic', role: 'viewer', units: null };

const spikePayload = {
  type: 'inference_spike',
  title: 'Request volume 500% above baseline',
  severity: 'medium',
  time: '2026-03-01T12:00:00Z',
  source: { product: 'Gateway Monitor', vendor: 'Acme' },
  observables: { ips: ['203.0.113.7'], model: { id: 'customer-churn' } },
};

/** A playbook file of `steps` (YAML lines) triggered by `types`, as the tests here write them. */
function testPlaybook(id: string, title: string, steps: string[], types = 'inference_spike') {
  return parsePlaybook(
    [
      `id: ${id}`,
      'version: 1',
      `title: ${title}`,
      'owner: o',
      `trigger: { types: [${types}] }`,
      'steps:',
      ...steps,
      '',
    ].join('\n'),
    `playbooks/${id}.yaml`,
  );
}

/** Blocks the alert's first address, then notes it on the case. */
const blocker = testPlaybook('blocker', 'Block', [
  '  - id: block',
  '    act: { connector: network, action: deny, input: { ip: "${{ alert.observables.ips[0] }}" } }',
  '  - id: note',
  '    case: { note: "blocked ${{ steps.block.output }}" }',
]);
const blockerRouter: PlaybookRouter = {
  routes: [{ match: { type: ['inference_spike'] }, playbook: 'blocker' }],
};

/** Calls `seen` with each poll the executor makes of the store: for every due run, or queued ones only. */
function onPoll(store: SqliteStore, seen: (kind: 'due' | 'queued') => unknown): void {
  const dueRunIds = store.dueRunIds.bind(store);
  store.dueRunIds = (...args) => (seen('due'), dueRunIds(...args));
  const queuedRunIds = store.queuedRunIds.bind(store);
  store.queuedRunIds = (...args) => (seen('queued'), queuedRunIds(...args));
}

describe('PlaybookExecutor', () => {
  let dir: string;
  let stores: SqliteStore[];
  let now: Date;
  const clock = (): Date => now;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'warden-exec-'));
    stores = [];
    now = new Date('2026-03-01T12:05:00.000Z');
  });
  afterEach(async () => {
    for (const store of stores) await store.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  function open(
    playbooks: readonly Playbook[],
    router: PlaybookRouter,
    connectors: FakeConnectors,
  ) {
    const store = new SqliteStore({ dataDir: dir });
    stores.push(store);
    const executor = new PlaybookExecutor({
      store,
      playbooks,
      router,
      policy,
      connectors,
      clock,
      pollMs: 10_000,
    });
    const pipeline = new IngestPipeline({
      store,
      settings: config.pipeline,
      clock,
      caseOpened: (tx, c, alert, raw) => executor.queueRunsForNewCase(tx, c, alert, raw),
    });
    const ingest = async (payload: unknown) => {
      const [outcome] = await pipeline.submit([
        new AlertPreparer(inventory, clock).prepare(normalizePayload(payload)),
      ]);
      return outcome;
    };
    return { store, executor, ingest, approvals: new ApprovalWorkflow(store, clock) };
  }

  it('a playbook that closes its case starts the playbooks on case_closed, in the same commit', async () => {
    const closer = testPlaybook('closer', 'Close benign', [
      '  - id: close',
      '    case: { close: { reason: benign, note: scanner } }',
    ]);
    const closeOut = parsePlaybook(
      [
        'id: close-out',
        'version: 1',
        'title: Close out',
        'owner: o',
        'trigger: { on: case_closed, when: \'case.closureReason == "benign"\' }',
        'steps:',
        '  - id: tell',
        '    notify: { connector: log, message: "case ${{ case.number }} closed: ${{ case.closureNote }}" }',
        '',
      ].join('\n'),
      'playbooks/close-out.yaml',
    );
    const connectors = new FakeConnectors();
    const { store, executor, ingest } = open([closer, closeOut], { routes: [] }, connectors);
    executor.start();
    const outcome = await ingest(spikePayload);
    await executor.idle();
    await vi.waitFor(async () => {
      const runs = await store.listRunsForCase(outcome?.caseId ?? '');
      expect(runs.map((r) => [r.playbookId, r.status])).toEqual([
        ['closer', 'succeeded'],
        ['close-out', 'succeeded'],
      ]);
    });
    expect(connectors.calls.map((c) => [c.connector, c.action, c.input])).toEqual([
      ['log', 'notify', expect.objectContaining({ message: 'case 1 closed: scanner' })],
    ]);
    const timeline = await store.listTimeline(outcome?.caseId ?? '');
    const kinds = timeline.map((t) => `${t.kind} ${t.actor}`);
    expect(kinds.indexOf('playbook_queued playbook:close-out')).toBe(
      kinds.indexOf('closed playbook:closer') + 1,
    );
    await executor.stop();
  });

  it('runs the spike playbook: enrich, branch, wait for approval, act once, update the case, hand off', async () => {
    const playbooks = loadPlaybooks(TESTDATA);
    const router: PlaybookRouter = {
      routes: [
        { match: { type: ['inference_spike'] }, playbook: 'inference-spike-external-range' },
      ],
    };
    const connectors = new FakeConnectors({
      'threat_intel.lookup_ip': () =>
        Promise.resolve({ output: { malicious: true, score: 92, verdict: 'malicious' } }),
      'network.block_ip_range': () => Promise.resolve({ output: { ruleId: 'r-17' } }),
    });
    const { store, executor, ingest, approvals } = open(playbooks, router, connectors);

    const outcome = await ingest(spikePayload);
    const [queued] = await store.listRunsForCase(outcome?.caseId ?? '');
    expect(queued).toMatchObject({
      playbookId: 'inference-spike-external-range',
      status: 'queued',
    });

    await executor.idle();
    let run = await store.getRun(queued?.id ?? '');
    expect(run?.status).toBe('waiting');
    const { items } = await approvals.list(responder, { status: ['pending'] }, { limit: 10 });
    expect(items).toHaveLength(1);
    const approval = items[0];
    expect(approval).toMatchObject({ approvers: ['responder', 'admin'], caseId: outcome?.caseId });
    expect(approval?.message).toContain(
      'Block 203.0.113.0/24 in front of Customer Churn Prediction?',
    );
    // The demo policy announces approval requests in #secops (this fake connector can only notify).
    expect(connectors.calls.map((c) => `${c.connector}.${c.action}`)).toEqual([
      'threat_intel.lookup_ip',
      'secops_slack.notify',
    ]);
    expect(connectors.calls[1]?.input).toMatchObject({
      to: 'responder, admin',
      message: expect.stringContaining(`POST /api/v1/approvals/${approval?.id ?? ''}`) as unknown,
    });

    // A viewer cannot answer; a responder can, once.
    await expect(
      approvals.answer(viewer, approval?.id ?? '', { approve: true }),
    ).rejects.toMatchObject({
      code: 'forbidden',
    });
    await approvals.answer(responder, approval?.id ?? '', { approve: true, comment: 'go' });
    await expect(
      approvals.answer(responder, approval?.id ?? '', { approve: false }),
    ).rejects.toMatchObject({ code: 'conflict' });

    await executor.idle();
    run = await store.getRun(queued?.id ?? '');
    expect(run?.status).toBe('succeeded');
    expect(connectors.calls.map((c) => `${c.connector}.${c.action}`)).toEqual([
      'threat_intel.lookup_ip',
      'secops_slack.notify',
      'network.block_ip_range',
      'log.notify',
      'log.notify',
    ]);
    const block = connectors.calls[2];
    expect(block?.input).toEqual({
      cidr: '203.0.113.0/24',
      reason: 'inference spike from an external range (case #1)',
      ttl_hours: 24,
    });
    const effect = await store.getEffect(block?.key ?? '');
    expect(effect).toMatchObject({ status: 'succeeded', output: { ruleId: 'r-17' } });

    const c = await store.getCase(outcome?.caseId ?? '');
    expect(c?.phase).toBe('containment');
    const kinds = (await store.listTimeline(c?.id ?? '')).map((t) => t.kind);
    expect(kinds).toEqual([
      'created',
      'playbook_queued',
      'approval_requested',
      'action_taken', // the announcement in #secops
      'approval_answered',
      'action_taken',
      'comment',
      'phase_changed',
      'playbook_finished',
      'task',
    ]);
    // The handoff's task is open for the analyst, and names the run that added it.
    const tasks = caseTasks(await store.listTimelineKinds(c?.id ?? '', TASK_TIMELINE_KINDS));
    expect(tasks).toEqual([
      expect.objectContaining({
        runId: queued?.id,
        createdBy: 'playbook:inference-spike-external-range',
        done: false,
      }),
    ]);

    const trace = await store.listRunEvents(queued?.id ?? '');
    const branch = trace.find((e) => e.kind === 'branch');
    expect(branch).toMatchObject({
      stepId: 'external',
      data: { goto: 'approve_block' },
    });
    expect(trace.at(-1)).toMatchObject({ kind: 'run_finished', data: { status: 'succeeded' } });

    const audit = await store.readAudit(0, 100);
    expect(audit.find((a) => a.action === 'approval.approved')).toMatchObject({
      actor: 'rita',
      subject: approval?.id,
      data: { role: 'responder', comment: 'go' },
    });
    expect(await verifyAuditLog(store)).toMatchObject({ ok: true });
  });

  it('announces, after a restart, an approval request a crash kept from being announced, once', async () => {
    const playbooks = loadPlaybooks(TESTDATA);
    const router: PlaybookRouter = {
      routes: [
        { match: { type: ['inference_spike'] }, playbook: 'inference-spike-external-range' },
      ],
    };
    const intel = () =>
      Promise.resolve({ output: { malicious: true, score: 92, verdict: 'malicious' } });
    // The first process stops for good while its announcement is on the wire.
    const hanging = new FakeConnectors({
      'threat_intel.lookup_ip': intel,
      'secops_slack.notify': () => new Promise<never>(() => undefined),
    });
    const first = open(playbooks, router, hanging);
    const outcome = await first.ingest(spikePayload);
    first.executor.start();
    const deadline = Date.now() + 5000;
    while (!hanging.calls.some((c) => c.connector === 'secops_slack')) {
      if (Date.now() > deadline) throw new Error('the approval was never requested');
      await new Promise((r) => setTimeout(r, 5));
    }
    const [approval] = (await first.store.listApprovals({ status: ['pending'] }, { limit: 10 }))
      .items;
    expect(approval?.caseId).toBe(outcome?.caseId);
    void first.executor.stop();
    await first.store.close();

    const restart = async () => {
      const connectors = new FakeConnectors({ 'threat_intel.lookup_ip': intel });
      const again = open(playbooks, router, connectors);
      again.executor.start();
      await again.executor.idle();
      await again.executor.stop();
      await again.store.close();
      return connectors.calls.filter((c) => c.connector === 'secops_slack');
    };
    const announced = await restart();
    expect(announced).toHaveLength(1);
    expect(announced[0]?.input).toMatchObject({
      message: expect.stringContaining(`POST /api/v1/approvals/${approval?.id ?? ''}`) as unknown,
    });
    // Announced now, so the next start says nothing.
    expect(await restart()).toEqual([]);

    const store = open(playbooks, router, new FakeConnectors()).store;
    const timeline = await store.listTimeline(outcome?.caseId ?? '');
    expect(timeline.filter((t) => t.message.startsWith('approval request announced'))).toHaveLength(
      1,
    );
    expect(await store.listUnannouncedApprovals()).toEqual([]);
    expect((await store.getRun(approval?.runId ?? ''))?.status).toBe('waiting');
  });

  describe('after a crash between sending an action and recording its result', () => {
    /** Runs until the act call is in flight, then abandons that executor as a crash would. */
    async function crashMidCall(): Promise<string> {
      let sent!: () => void;
      const inFlight = new Promise<void>((resolve) => (sent = resolve));
      const hanging = new FakeConnectors({
        'network.deny': () => {
          sent();
          return new Promise(() => undefined);
        },
      });
      const first = open([blocker], blockerRouter, hanging);
      const outcome = await first.ingest(spikePayload);
      first.executor.start();
      await inFlight;
      const [run] = await first.store.listRunsForCase(outcome?.caseId ?? '');
      return run?.id ?? '';
    }

    for (const [answer, expected] of [
      ['done', { status: 'succeeded', calls: 0 }],
      ['not_done', { status: 'succeeded', calls: 1 }],
      ['unknown', { status: 'failed', calls: 0 }],
    ] as const) {
      it(`reconciles (${answer}) instead of repeating the call blindly`, async () => {
        const runId = await crashMidCall();
        const connectors = new FakeConnectors({}, answer);
        const second = open([blocker], blockerRouter, connectors);
        await second.executor.idle();

        const run = await second.store.getRun(runId);
        expect(run?.status).toBe(expected.status);
        expect(connectors.reconciled).toHaveLength(1);
        expect(connectors.calls.filter((c) => c.action === 'deny')).toHaveLength(expected.calls);
        const events = await second.store.listRunEvents(runId);
        if (answer === 'unknown') {
          expect(events.at(-1)).toMatchObject({
            kind: 'run_finished',
            data: { status: 'failed', error: { code: 'effect_unknown', stepId: 'block' } },
          });
        }
      });
    }
  });

  it('retries a failing enrichment after its backoff, on the clock, and survives a restart while waiting', async () => {
    const playbook = testPlaybook('retrier', 'Retry', [
      '  - id: intel',
      '    enrich: { connector: ti, action: lookup, input: {} }',
      '    retry: { count: 2, backoff: { initial: 10s, factor: 3 } }',
    ]);
    const router: PlaybookRouter = {
      routes: [{ match: { type: ['inference_spike'] }, playbook: 'retrier' }],
    };
    let failures = 2;
    const flaky = () =>
      failures-- > 0
        ? Promise.reject(Object.assign(new Error('503'), { code: 'unavailable', retryable: true }))
        : Promise.resolve({ output: { ok: true } });
    const connectors = new FakeConnectors({ 'ti.lookup': flaky });
    const first = open([playbook], router, connectors);
    const outcome = await first.ingest(spikePayload);
    await first.executor.idle();
    const [run] = await first.store.listRunsForCase(outcome?.caseId ?? '');
    expect(run).toMatchObject({ status: 'waiting', wakeAt: '2026-03-01T12:05:10.000Z' });

    now = new Date('2026-03-01T12:05:09.000Z');
    await first.executor.idle();
    expect(connectors.calls).toHaveLength(1);

    // A restart while waiting keeps the wake-up time.
    const second = open([playbook], router, connectors);
    now = new Date('2026-03-01T12:05:10.000Z');
    await second.executor.idle();
    expect(connectors.calls.map((c) => c.attempt)).toEqual([1, 2]);
    expect((await second.store.getRun(run?.id ?? ''))?.wakeAt).toBe('2026-03-01T12:05:40.000Z');

    now = new Date('2026-03-01T12:05:40.000Z');
    await second.executor.idle();
    expect(connectors.calls.map((c) => c.attempt)).toEqual([1, 2, 3]);
    expect((await second.store.getRun(run?.id ?? ''))?.status).toBe('succeeded');
  });

  it('times an approval out on the clock: escalates once, then denies, and the run follows on_error', async () => {
    const playbook = testPlaybook('asker', 'Ask', [
      '  - id: ask',
      '    approval: { approvers: [responder], message: ok?, timeout: 10m, on_timeout: escalate, escalate_to: [admin] }',
      '    on_error: { goto: fallback }',
      '  - id: approved',
      '    case: { note: approved }',
      '    goto: end',
      '  - id: fallback',
      '    case: { note: "not approved: ${{ steps.ask.error.code }}" }',
    ]);
    const router: PlaybookRouter = {
      routes: [{ match: { type: ['inference_spike'] }, playbook: 'asker' }],
    };
    const { store, executor, ingest, approvals } = open([playbook], router, new FakeConnectors());
    const outcome = await ingest(spikePayload);
    await executor.idle();
    const pending = async () =>
      (await approvals.list(responder, { status: ['pending'] }, { limit: 10 })).items;
    expect((await pending()).map((a) => a.approvers)).toEqual([['responder']]);

    now = new Date('2026-03-01T12:15:01.000Z');
    await executor.idle();
    // The first approval timed out; the escalation asks admins, with a fresh deadline.
    const escalated = await approvals.list(
      { ...responder, role: 'admin' },
      { status: ['pending', 'timed_out'] },
      { limit: 10 },
    );
    expect(escalated.items.map((a) => [a.status, a.approvers])).toEqual([
      ['pending', ['admin']],
      ['timed_out', ['responder']],
    ]);

    now = new Date('2026-03-01T12:25:02.000Z');
    await executor.idle();
    const [run] = await store.listRunsForCase(outcome?.caseId ?? '');
    expect(run?.status).toBe('succeeded');
    const timeline = await store.listTimeline(outcome?.caseId ?? '');
    expect(timeline.find((t) => t.kind === 'comment')?.message).toBe(
      'not approved: approval_timeout',
    );
  });

  it('a slow connector holds up only the runs that call it', async () => {
    const slow = testPlaybook('slow', 'Slow', [
      '  - id: wait_for_it',
      '    enrich: { connector: tarpit, action: lookup, input: {} }',
    ]);
    const quick = testPlaybook(
      'quick',
      'Quick',
      ['  - id: note', '    case: { note: done }'],
      'prompt_injection',
    );
    const connectors = new FakeConnectors({
      'tarpit.lookup': () =>
        new Promise((resolve) => setTimeout(() => resolve({ output: {} }), 1500)),
    });
    const { store, executor, ingest } = open([slow, quick], { routes: [] }, connectors);
    executor.start();
    const stuck = await ingest(spikePayload);
    const fine = await ingest({
      ...spikePayload,
      type: 'prompt_injection',
      observables: { users: ['mallory'], model: { id: 'support-chatbot' } },
    });
    executor.wake();
    const deadline = Date.now() + 1000;
    let status: string | undefined;
    while (Date.now() < deadline) {
      status = (await store.listRunsForCase(fine?.caseId ?? ''))[0]?.status;
      if (status === 'succeeded') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(status).toBe('succeeded');
    // Still on its first (read) step, which records nothing until it returns.
    expect(['queued', 'running']).toContain(
      (await store.listRunsForCase(stuck?.caseId ?? ''))[0]?.status,
    );
    expect(connectors.calls.map((c) => c.connector)).toEqual(['tarpit']);
    await executor.stop();
  });

  it("cuts a call at its step's timeout, and frees the deadline of a call that ended in time", async () => {
    const timed = testPlaybook('timed', 'Timed', [
      '  - id: quick',
      '    enrich: { connector: fast, action: lookup, input: {} }',
      '    timeout: 80ms',
      '  - id: hang',
      '    enrich: { connector: tarpit, action: lookup, input: {} }',
      '    timeout: 80ms',
    ]);
    const signals: AbortSignal[] = [];
    const connectors = new FakeConnectors({
      'fast.lookup': (request) => {
        signals.push(request.signal);
        return Promise.resolve({ output: { ok: true } });
      },
      'tarpit.lookup': (request) =>
        new Promise((_resolve, reject) => {
          request.signal.addEventListener('abort', () => reject(request.signal.reason as Error));
        }),
    });
    const { store, executor, ingest } = open([timed], { routes: [] }, connectors);
    const started = await ingest(spikePayload);
    await executor.idle();
    const [run] = await store.listRunsForCase(started?.caseId ?? '');
    expect(run?.status).toBe('failed');
    const events = await store.listRunEvents(run?.id ?? '');
    const failedStep = events.find((e) => e.kind === 'step_failed');
    expect(failedStep?.stepId).toBe('hang');
    expect(JSON.stringify(failedStep?.data)).toContain('timeout');
    // Past the quick call's deadline: a deadline left running would have aborted its signal.
    await new Promise((r) => setTimeout(r, 150));
    expect(signals).toHaveLength(1);
    expect(signals[0]?.aborted).toBe(false);
    await executor.stop();
  });

  it('under load, asks the store for due runs once a few slots are free, not at each run that ends', async () => {
    const gates: (() => void)[] = [];
    const connectors = new FakeConnectors({
      'network.deny': () => new Promise((resolve) => gates.push(() => resolve({ output: 'rule' }))),
    });
    const store = new SqliteStore({ dataDir: dir });
    stores.push(store);
    // 16 slots: a wake-up polls once at least 2 are free.
    const executor = new PlaybookExecutor({
      store,
      playbooks: [blocker],
      router: blockerRouter,
      policy,
      connectors,
      clock,
      pollMs: 10_000,
      maxActiveRuns: 16,
    });
    const pipeline = new IngestPipeline({
      store,
      settings: config.pipeline,
      clock,
      caseOpened: (tx, c, alert, raw) => executor.queueRunsForNewCase(tx, c, alert, raw),
    });
    const preparer = new AlertPreparer(inventory, clock);
    const outcomes = await pipeline.submit(
      Array.from({ length: 20 }, (_, i) =>
        preparer.prepare(
          normalizePayload({
            ...spikePayload,
            observables: { ips: [`203.0.${i}.7`], model: { id: 'customer-churn' } },
          }),
        ),
      ),
    );
    expect(new Set(outcomes.map((o) => o.caseId)).size).toBe(20);
    let polls = 0;
    onPoll(store, () => (polls += 1));
    const until = async (what: () => boolean | Promise<boolean>): Promise<void> => {
      const deadline = Date.now() + 5000;
      while (!(await what())) {
        if (Date.now() > deadline) throw new Error('timed out');
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    const succeeded = async (): Promise<number> => {
      let n = 0;
      for (const o of outcomes) {
        const [run] = await store.listRunsForCase(o.caseId ?? '');
        if (run?.status === 'succeeded') n += 1;
      }
      return n;
    };
    executor.start();
    await until(() => gates.length === 16);
    const pollsWhenFull = polls;

    gates.shift()?.();
    await until(async () => (await succeeded()) === 1);
    await new Promise((r) => setTimeout(r, 50));
    expect(polls).toBe(pollsWhenFull);
    expect(connectors.calls).toHaveLength(16);

    gates.shift()?.();
    await until(() => connectors.calls.length === 18);
    expect(polls).toBe(pollsWhenFull + 1);

    while (gates.length > 0 || connectors.calls.length < 20) {
      gates.shift()?.();
      await new Promise((r) => setTimeout(r, 5));
    }
    await until(async () => (await succeeded()) === 20);
    await executor.stop();
  });

  it('keeps a severity a playbook set when later alerts join the case', async () => {
    const downgrade = testPlaybook('downgrade', 'Known load test', [
      '  - id: low',
      "    case: { severity: Low, note: 'scheduled load test' }",
    ]);
    const { store, executor, ingest } = open([downgrade], { routes: [] }, new FakeConnectors());
    const first = await ingest(spikePayload);
    await executor.idle();
    expect(await store.getCase(first?.caseId ?? '')).toMatchObject({
      severity: 'Low',
      severityReason: 'set by playbook',
      severitySetBy: 'playbook',
    });

    // A worse alert from the same range on the same model joins the case.
    const second = await ingest({
      ...spikePayload,
      title: 'Request volume 900% above baseline',
      severity: 'critical',
      observables: { ips: ['203.0.113.9'], model: { id: 'customer-churn' } },
    });
    expect(second?.caseId).toBe(first?.caseId);
    const c = await store.getCase(first?.caseId ?? '');
    expect(c).toMatchObject({ severity: 'Low', severityId: 2, alertCount: 2 });
    expect(c?.maxAlertSeverityId).toBe(5);
    const changes = (await store.listTimeline(c?.id ?? '')).filter(
      (t) => t.kind === 'severity_changed',
    );
    expect(changes.map((t) => t.message)).toEqual([expect.stringContaining('(set by playbook)')]);
    await executor.stop();
  });

  it('starts a run it queued from what queued it, and commits a case step with the end of the run', async () => {
    const noted = testPlaybook('noted', 'Noted', [
      '  - id: note',
      "    case: { phase: containment, note: 'seen ${{ alert.raw.title }}' }",
    ]);
    const { store, executor, ingest } = open([noted], { routes: [] }, new FakeConnectors());
    executor.start();
    const reads: string[] = [];
    const getRun = store.getRun.bind(store);
    const getAlert = store.getAlert.bind(store);
    store.getRun = (id) => (reads.push(`run ${id}`), getRun(id));
    store.getAlert = (id) => (reads.push(`alert ${id}`), getAlert(id));
    let commits = 0;
    const transaction = store.transaction.bind(store);
    store.transaction = ((...args: Parameters<typeof transaction>) => {
      commits += 1;
      return transaction(...args);
    }) as typeof store.transaction;
    const staged = store.stagedTransaction.bind(store);
    store.stagedTransaction = ((...args: Parameters<typeof staged>) => {
      commits += 1;
      return staged(...args);
    }) as typeof store.stagedTransaction;
    const outcome = await ingest(spikePayload);
    executor.wake();
    await executor.idle();
    const [run] = await store.listRunsForCase(outcome?.caseId ?? '');
    expect(run?.status).toBe('succeeded');
    // The payload reached the run although neither the run nor its alert was read back.
    const c = await store.getCase(outcome?.caseId ?? '');
    expect(c?.phase).toBe('containment');
    const timeline = await store.listTimeline(outcome?.caseId ?? '');
    expect(timeline.map((t) => t.message)).toContain('seen Request volume 500% above baseline');
    expect(reads).toEqual([]);
    // One commit for the alert and its case, one for the case step and the finish together.
    expect(commits).toBe(2);
    await executor.stop();
  });

  it('looks for new runs after a commit only if the cases it opened queued any', async () => {
    const { store, executor, ingest } = open([blocker], blockerRouter, new FakeConnectors());
    executor.start();
    await executor.idle();
    let polls = 0;
    onPoll(store, () => (polls += 1));
    const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

    // A case the router sends nowhere (another alert type): no run, so no poll.
    const drift = await ingest({
      ...spikePayload,
      type: 'model_drift',
      title: 'Drift above threshold',
      observables: { model: { id: 'fraud-detection' } },
    });
    expect(drift?.caseId).toBeDefined();
    executor.wakeForNewRuns();
    await settle();
    expect(polls).toBe(0);

    const spike = await ingest(spikePayload);
    executor.wakeForNewRuns();
    await settle();
    expect(polls).toBeGreaterThan(0);
    await executor.idle();
    expect(spike?.caseId).not.toBe(drift?.caseId);
    const [run] = await store.listRunsForCase(spike?.caseId ?? '');
    expect(run?.playbookId).toBe('blocker');
    // Told once: a second call with nothing new queued does not poll again.
    const after = polls;
    executor.wakeForNewRuns();
    await settle();
    expect(polls).toBe(after);
    await executor.stop();
  });

  it('reads only queued runs when new ones were queued, and every due run on any other wake', async () => {
    const { store, executor, ingest } = open([blocker], blockerRouter, new FakeConnectors());
    executor.start();
    await executor.idle();
    const asked: string[] = [];
    onPoll(store, (kind) => asked.push(kind));

    const spike = await ingest(spikePayload);
    executor.wakeForNewRuns();
    await vi.waitFor(async () => {
      const [run] = await store.listRunsForCase(spike?.caseId ?? '');
      expect(run?.status).toBe('succeeded');
    });
    // The last full look (idle's) is not pollMs old: queued runs are all a new case can add.
    expect(asked.length).toBeGreaterThan(0);
    expect(new Set(asked)).toEqual(new Set(['queued']));

    // An answered approval or a woken run: everything due.
    asked.length = 0;
    executor.wake();
    await vi.waitFor(() => expect(asked.length).toBeGreaterThan(0));
    expect(asked[0]).toBe('due');
    await executor.stop();
  });

  it('goes on after a case step with the case as that step left it, whatever ingest links meanwhile', async () => {
    const marked = testPlaybook('marked', 'Marked', [
      '  - id: mark',
      "    case: { phase: containment, note: 'marked' }",
      '  - id: block',
      '    act: { connector: network, action: deny, input: { ip: "${{ alert.observables.ips[0] }}" } }',
      '  - id: count',
      '    decide:',
      "      - when: 'case.alertCount > 1.0'",
      '        goto: crowded',
      '      - default: end',
      '  - id: crowded',
      "    case: { note: 'more alerts than when it was marked' }",
    ]);
    const late: { ingest?: (payload: unknown) => Promise<unknown> } = {};
    // While the block is in flight, a second alert (another title, same model and address) joins the case.
    const connectors = new FakeConnectors({
      'network.deny': async () => {
        await late.ingest?.({ ...spikePayload, title: 'Request volume still above baseline' });
        return { output: { ruleId: 'r-1' } };
      },
    });
    const opened = open([marked], { routes: [] }, connectors);
    late.ingest = opened.ingest;
    const { store, executor } = opened;
    const outcome = (await opened.ingest(spikePayload)) as { caseId?: string } | undefined;
    executor.start();
    executor.wake();
    await executor.idle();
    const c = await store.getCase(outcome?.caseId ?? '');
    expect(c?.alertCount).toBe(2);
    const [run] = await store.listRunsForCase(outcome?.caseId ?? '');
    expect(run?.status).toBe('succeeded');
    const branch = (await store.listRunEvents(run?.id ?? '')).find((e) => e.kind === 'branch');
    expect(branch).toMatchObject({ stepId: 'count', data: { goto: 'end' } });
    await executor.stop();
  });

  it('retries each run alone after a shared commit fails, recording and sending nothing twice', async () => {
    const connectors = new FakeConnectors();
    const { store, executor, ingest } = open([blocker], blockerRouter, connectors);
    const first = await ingest(spikePayload);
    const second = await ingest({
      ...spikePayload,
      observables: { ips: ['198.51.100.9'], model: { id: 'fraud-detection' } },
    });
    expect(second?.caseId).not.toBe(first?.caseId);

    // The first transaction that records the end of two runs fails once,
    // after the first run's case step and events went in: the group committer
    // rolls it back and retries each run's work alone.
    let failures = 0;
    const staged = store.stagedTransaction.bind(store);
    store.stagedTransaction = ((work: (tx: StoreTransaction) => Promise<unknown>) =>
      staged((tx) => {
        const ended = new Set<string>();
        const flaky = new Proxy(tx, {
          get(target, name) {
            if (name === 'appendRunEvents') {
              return (
                runId: string,
                events: Parameters<StoreTransaction['appendRunEvents']>[1],
              ) => {
                if (events.some((e) => e.kind === 'run_finished')) {
                  ended.add(runId);
                  if (ended.size > 1 && failures === 0) {
                    failures += 1;
                    throw new Error('disk I/O error');
                  }
                }
                return target.appendRunEvents(runId, events);
              };
            }
            const value = Reflect.get(target, name) as unknown;
            return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
          },
        });
        return work(flaky);
      })) as typeof store.stagedTransaction;

    executor.start();
    executor.wake();
    await executor.idle();
    expect(failures).toBe(1);

    expect(
      connectors.calls
        .map(
          (c) => `${c.connector}.${c.action} ${String(c.input && (c.input as { ip: string }).ip)}`,
        )
        .sort(),
    ).toEqual(['network.deny 198.51.100.9', 'network.deny 203.0.113.7']);
    for (const outcome of [first, second]) {
      const [run] = await store.listRunsForCase(outcome?.caseId ?? '');
      expect(run?.status).toBe('succeeded');
      const events = await store.listRunEvents(run?.id ?? '');
      const steps = events.filter((e) => e.kind === 'step_succeeded').map((e) => e.stepId);
      expect(steps).toEqual(['block', 'note']);
      expect(events.filter((e) => e.kind === 'run_finished')).toHaveLength(1);
      const timeline = await store.listTimeline(outcome?.caseId ?? '');
      expect(timeline.filter((t) => t.message.startsWith('blocked '))).toHaveLength(1);
    }
    expect(await verifyAuditLog(store)).toMatchObject({ ok: true });
    await executor.stop();
  });
});
