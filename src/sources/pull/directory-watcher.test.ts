import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CheckpointStore } from './checkpoint-store.js';
import { DirectoryWatcher, globToRegExp, type WatcherCheckpoint } from './directory-watcher.js';
import type { PullOutcome, PulledAlert } from './pull-source.js';

const line = (title: string): string =>
  `${JSON.stringify({ type: 'prompt_injection', title, time: '2026-11-26T10:00:00Z' })}\n`;

let root: string;
let reports: string;
let dataDir: string;
let committed: PulledAlert[];
let warnings: string[];
let observed: PullOutcome[];

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'warden-watcher-'));
  reports = join(root, 'reports');
  dataDir = join(root, 'data');
  mkdirSync(reports);
  committed = [];
  warnings = [];
  observed = [];
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function record(alerts: readonly PulledAlert[]): Promise<void> {
  committed.push(...alerts);
  return Promise.resolve();
}

function watcher(ingest = record): DirectoryWatcher {
  return new DirectoryWatcher({
    config: {
      name: 'garak-reports',
      directory: reports,
      patterns: ['*.jsonl'],
      intervalMs: 1000,
      context: { model: 'support-bot' },
    },
    ingest,
    checkpoints: new CheckpointStore(dataDir),
    log: { info: () => undefined, warn: (message) => warnings.push(message) },
    observer: {
      pulled: (source, outcome) => {
        expect(source).toBe('garak-reports');
        observed.push(outcome);
      },
    },
  });
}

const titles = (): string[] => committed.map((a) => a.draft.title);
const report = (name = 'run.jsonl'): string => join(reports, name);
const checkpoint = (): WatcherCheckpoint =>
  JSON.parse(
    readFileSync(join(dataDir, 'checkpoints', 'garak-reports.json'), 'utf8'),
  ) as WatcherCheckpoint;

describe('DirectoryWatcher', () => {
  it('ingests lines appended across scans, only matching files, with the sender context', async () => {
    writeFileSync(report(), line('a') + line('b'));
    writeFileSync(report('notes.txt'), line('ignored'));
    const w = watcher();
    expect(await w.scanOnce()).toEqual({ alerts: 2, rejected: 0 });
    expect(await w.scanOnce()).toEqual({ alerts: 0, rejected: 0 });
    appendFileSync(report(), line('c'));
    await w.scanOnce();
    expect(titles()).toEqual(['a', 'b', 'c']);
    expect(committed[0]?.draft.observables.model?.id).toBe('support-bot');
    expect(committed[0]?.rawText).toBe(line('a').trim());
    expect(checkpoint().files['run.jsonl']).toMatchObject({
      offset: 3 * line('a').length,
      line: 3,
    });
  });

  it('leaves a partial last line for the scan after its newline arrives', async () => {
    const whole = line('partial');
    writeFileSync(report(), line('a') + whole.slice(0, 20));
    const w = watcher();
    await w.scanOnce();
    expect(titles()).toEqual(['a']);
    appendFileSync(report(), whole.slice(20, -1));
    await w.scanOnce();
    expect(titles()).toEqual(['a']);
    appendFileSync(report(), '\n');
    await w.scanOnce();
    expect(titles()).toEqual(['a', 'partial']);
  });

  it('reports a bad line as file:line and reads on', async () => {
    writeFileSync(report(), `${line('a')}{not json\n${JSON.stringify({ hello: 1 })}\n${line('d')}`);
    expect(await watcher().scanOnce()).toEqual({ alerts: 2, rejected: 2 });
    expect(warnings[0]).toMatch(/^watcher garak-reports: run\.jsonl:2 skipped: not valid JSON/);
    expect(warnings[1]).toMatch(/run\.jsonl:3 skipped: could not recognise/);
    expect(titles()).toEqual(['a', 'd']);
    expect(observed).toEqual([{ ok: true, alerts: 2, rejected: 2 }]);
  });

  it('reads a truncated or replaced file from the start', async () => {
    writeFileSync(report(), line('a') + line('b'));
    const w = watcher();
    await w.scanOnce();
    truncateSync(report(), 0);
    appendFileSync(report(), line('c'));
    await w.scanOnce();
    expect(titles()).toEqual(['a', 'b', 'c']);

    // Rotation: the old file moves away (to a name not watched), a new one takes its name.
    renameSync(report(), report('run.jsonl.1'));
    writeFileSync(report(), line('d') + line('e') + line('f'));
    await w.scanOnce();
    expect(titles()).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
  });

  it('follows a file renamed to a watched name by its inode, without repeats', async () => {
    writeFileSync(report(), line('a'));
    const w = watcher();
    await w.scanOnce();
    renameSync(report(), report('run-1.jsonl'));
    appendFileSync(report('run-1.jsonl'), line('b'));
    writeFileSync(report(), line('c'));
    await w.scanOnce();
    expect(titles().sort()).toEqual(['a', 'b', 'c']);
  });

  it('resumes from the checkpoint after a restart, and re-reads a batch whose commit failed', async () => {
    writeFileSync(report(), line('a') + line('b'));
    await watcher().scanOnce();
    appendFileSync(report(), line('c'));

    const failing = watcher(() => Promise.reject(new Error('store unavailable')));
    await expect(failing.scanOnce()).rejects.toThrow('store unavailable');
    expect(observed.at(-1)).toEqual({ ok: false, alerts: 0, rejected: 0 });

    const restarted = watcher();
    await restarted.scanOnce();
    expect(titles()).toEqual(['a', 'b', 'c']);
  });

  it('counts what a scan committed before a later chunk failed', async () => {
    writeFileSync(report(), line('x').repeat(600));
    let chunks = 0;
    const flaky = watcher((alerts) =>
      chunks++ === 0 ? record(alerts) : Promise.reject(new Error('store full')),
    );
    await expect(flaky.scanOnce()).rejects.toThrow('store full');
    expect(committed).toHaveLength(500);
    expect(observed).toEqual([{ ok: false, alerts: 500, rejected: 0 }]);
  });

  it('scans on its interval until stopped, and waits for a missing directory', async () => {
    rmSync(reports, { recursive: true });
    const w = watcher();
    expect(await w.scanOnce()).toEqual({ alerts: 0, rejected: 0 });
    expect(await w.scanOnce()).toEqual({ alerts: 0, rejected: 0 });
    expect(warnings).toHaveLength(1);
    // Warned once, but every scan of a missing directory counts as failed.
    expect(observed.map((o) => o.ok)).toEqual([false, false]);
    mkdirSync(reports);
    writeFileSync(report(), line('late'));
    w.start();
    await expect.poll(() => titles()).toEqual(['late']);
    await w.stop();
  });
});

describe('globToRegExp', () => {
  it('matches * and ? and nothing else', () => {
    expect(globToRegExp('*.jsonl').test('garak.1f2e.report.jsonl')).toBe(true);
    expect(globToRegExp('*.jsonl').test('x.jsonl.1')).toBe(false);
    expect(globToRegExp('run-?.ndjson').test('run-7.ndjson')).toBe(true);
    expect(globToRegExp('a+b(1).ndjson').test('a+b(1).ndjson')).toBe(true);
  });
});
