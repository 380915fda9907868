import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { emptyObservables, encodeAlert, type NormalizedAlert } from '../core/alert.js';
import { WardenError } from '../core/errors.js';
import type { BatchCommitInfo } from './ingest-queue.js';
import { ThreadedIngest, packAlertTexts, unpackAlertTexts } from './threaded-ingest.js';

/**
 * The protocol side of ThreadedIngest, against stand-in writer threads (the
 * real one, `src/ingest-worker.ts`, runs under every API test).
 */
function alert(id: string): NormalizedAlert {
  return {
    id,
    dedupKey: `key-${id}`,
    source: { format: 'native', product: 'p', vendor: 'v' },
    type: 'other',
    title: 't',
    severityId: 2,
    severity: 'Low',
    firstSeen: '2026-01-01T00:00:00.000Z',
    lastSeen: '2026-01-01T00:00:00.000Z',
    receivedAt: '2026-01-01T00:00:00.000Z',
    count: 1,
    observables: emptyObservables(),
    atlasTechniques: [],
    enrichment: { blastRadius: [], allowlisted: [] },
    raw: { id },
  };
}

/**
 * A writer thread that answers every submission from the alerts' own JSON,
 * failing the submissions whose first alert's id starts with "fail".
 */
const ECHO_WRITER = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', (m) => {
  if (m.kind === 'close') { parentPort.postMessage({ kind: 'closed' }); return; }
  const outcomes = [];
  for (let i = 0, at = 0; i < m.ends.length; i += 2) {
    const doc = m.text.slice(at, m.ends[i]);
    const raw = m.text.slice(m.ends[i], m.ends[i + 1]);
    at = m.ends[i + 1];
    outcomes.push({ id: JSON.parse(doc).id, status: 'new', caseId: raw, caseNumber: null });
  }
  const results = [];
  for (const count of m.parts) {
    const part = outcomes.splice(0, count);
    results.push(part[0].id.startsWith('fail')
      ? { error: { message: 'refused ' + part[0].id, code: 'invalid_field', status: 422 } }
      : { outcomes: part });
  }
  parentPort.postMessage({ kind: 'batch', info: { alerts: m.ends.length / 2, duplicates: 0, casesOpened: 0, ms: 1, messages: m.parts.length } });
  parentPort.postMessage({ kind: 'settled', id: m.id, results });
});`;

/** A writer thread that dies on its first submission. */
const CRASHING_WRITER = `
require('node:worker_threads').parentPort.on('message', () => process.exit(7));`;

/** A writer thread whose store refuses every batch. */
const FAILING_WRITER = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', (m) => {
  if (m.kind === 'close') { parentPort.postMessage({ kind: 'closed' }); return; }
  const error = { message: 'database is locked', code: 'store_unavailable', status: 503, retryable: true };
  parentPort.postMessage({ kind: 'settled', id: m.id, results: m.parts.map(() => ({ error })) });
});`;

const evalWorker = (source: string) => () => new Worker(source, { eval: true });

describe('packAlertTexts / unpackAlertTexts', () => {
  it('carries each alert’s document and raw text unchanged, whatever characters they hold', () => {
    const pretty = JSON.stringify({ note: 'line one\nline two', emoji: '🛡️', quote: '"' }, null, 2);
    const alerts = [
      { ...encodeAlert(alert('a1')), raw: pretty },
      encodeAlert(alert('a2')),
      { ...encodeAlert(alert('a3')), raw: '' },
    ];
    const packed = packAlertTexts(alerts);
    expect(packed.ends).toHaveLength(6);
    const unpacked = unpackAlertTexts(packed);
    expect(unpacked.map((a) => [a.doc, a.raw])).toEqual(alerts.map((a) => [a.doc, a.raw]));
    expect(unpacked.map((a) => a.alert)).toEqual(alerts.map((a) => a.alert));
    // Parsed anew on each read: whoever reads it owns the object.
    expect(unpacked[0]?.alert).not.toBe(unpacked[0]?.alert);
    expect(unpackAlertTexts(packAlertTexts([]))).toEqual([]);
  });
});

describe('ThreadedIngest', () => {
  it('sends alerts as JSON text and resolves with the writer’s outcomes, reporting its batches', async () => {
    const batches: BatchCommitInfo[] = [];
    const ingest = new ThreadedIngest({
      spawn: evalWorker(ECHO_WRITER),
      observer: { batchCommitted: (info) => batches.push(info) },
    });
    const outcomes = await ingest.submit([encodeAlert(alert('a1')), encodeAlert(alert('a2'))]);
    expect(outcomes).toEqual([
      { id: 'a1', status: 'new', caseId: '{"id":"a1"}', caseNumber: null },
      { id: 'a2', status: 'new', caseId: '{"id":"a2"}', caseNumber: null },
    ]);
    expect(batches).toEqual([{ alerts: 2, duplicates: 0, casesOpened: 0, ms: 1, messages: 1 }]);
    expect(await ingest.submit([])).toEqual([]);
    await ingest.close();
  });

  it('sends the submissions of one turn as one message, and settles each on its own', async () => {
    const batches: (BatchCommitInfo & { messages?: number })[] = [];
    const ingest = new ThreadedIngest({
      spawn: evalWorker(ECHO_WRITER),
      observer: { batchCommitted: (info) => batches.push(info) },
    });
    const [first, refused, last] = await Promise.allSettled([
      ingest.submit([encodeAlert(alert('b1')), encodeAlert(alert('b2'))]),
      ingest.submit([encodeAlert(alert('fail-1'))]),
      ingest.submit([encodeAlert(alert('b3'))]),
    ]);
    expect(first).toMatchObject({ status: 'fulfilled', value: [{ id: 'b1' }, { id: 'b2' }] });
    expect(refused).toMatchObject({
      status: 'rejected',
      reason: { code: 'invalid_field', message: 'refused fail-1' },
    });
    expect(last).toMatchObject({ status: 'fulfilled', value: [{ id: 'b3' }] });
    expect(batches).toEqual([{ alerts: 4, duplicates: 0, casesOpened: 0, ms: 1, messages: 3 }]);

    // A hundred alerts go at once, without waiting for the turn to end.
    batches.length = 0;
    const many = Array.from({ length: 100 }, (_, i) => encodeAlert(alert(`m${i}`)));
    const sent = ingest.submit(many);
    const after = ingest.submit([encodeAlert(alert('after'))]);
    await Promise.all([sent, after]);
    expect(batches.map((b) => b.alerts)).toEqual([100, 1]);
    await ingest.close();
  });

  it('fails what a dead writer held with a retryable 503, and starts a new writer for the next', async () => {
    const writers = [CRASHING_WRITER, ECHO_WRITER];
    const ingest = new ThreadedIngest({ spawn: () => evalWorker(writers.shift() ?? '')() });
    const error = await ingest.submit([encodeAlert(alert('lost'))]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WardenError);
    expect(error).toMatchObject({ code: 'store_unavailable', status: 503, retryable: true });
    expect(((error as WardenError).cause as Error).message).toMatch(/exited with code 7/);

    const [outcome] = await ingest.submit([encodeAlert(alert('kept'))]);
    expect(outcome?.id).toBe('kept');
    await ingest.close();
  });

  it('passes the writer’s own error through with its code', async () => {
    const ingest = new ThreadedIngest({ spawn: evalWorker(FAILING_WRITER) });
    const error = await ingest.submit([encodeAlert(alert('x'))]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WardenError);
    expect(error).toMatchObject({
      code: 'store_unavailable',
      message: 'database is locked',
      retryable: true,
    });
    await ingest.close();
  });

  it('refuses submissions once closing, and closes once', async () => {
    const ingest = new ThreadedIngest({ spawn: evalWorker(ECHO_WRITER) });
    const closed = ingest.close();
    expect(ingest.close()).toBe(closed);
    await closed;
    await expect(ingest.submit([encodeAlert(alert('late'))])).rejects.toMatchObject({
      code: 'store_unavailable',
    });
  });
});
