import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDeadLetter } from '../store/store.contract.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { runCommand, type CommandRun } from '../../test/support/run-command.js';
import { registerDeadletterCommand } from './deadletter-command.js';

const DEMO = fileURLToPath(new URL('../../examples/demo', import.meta.url));

const run = (...args: string[]): Promise<CommandRun> =>
  runCommand([registerDeadletterCommand], ...args);

let data: string;
// Native when named (a class_uid keeps detection off it), refused when detected.
const readable = makeDeadLetter({
  receivedAt: '2026-03-01T12:01:00.000Z',
  body: JSON.stringify({ type: 'jailbreak', title: 'DAN prompt', class_uid: 1 }),
});
const unreadable = makeDeadLetter({
  receivedAt: '2026-03-01T12:02:00.000Z',
  source: 'splunk',
  body: '{"hello":"world"}',
});

beforeAll(async () => {
  data = mkdtempSync(join(tmpdir(), 'warden-deadletter-'));
  const store = new SqliteStore({ dataDir: data });
  await store.transaction(async (tx) => {
    await tx.insertDeadLetter(readable);
    await tx.insertDeadLetter(unreadable);
  });
  await store.close();
});
afterAll(() => {
  rmSync(data, { recursive: true, force: true });
});

describe('warden deadletter', () => {
  it('list prints the newest first, up to --limit', async () => {
    const { stdout, code } = await run('deadletter', 'list', '--data', data);
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+RECEIVED\s+SOURCE\s+REPLAY\s+REASON$/);
    expect(lines[1]).toContain(unreadable.id);
    expect(lines[1]).toContain('splunk');
    expect(lines[2]).toContain(readable.id);
    expect(lines.at(-1)).toBe('2 dead letters');
    const limited = await run('deadletter', 'list', '--data', data, '--limit', '1', '--json');
    expect(JSON.parse(limited.stdout)).toEqual([unreadable]);
  });

  it('replay refused again exits 1 with the reason and keeps it', async () => {
    const { stderr, code } = await run(
      'deadletter',
      'replay',
      unreadable.id,
      '--config',
      DEMO,
      '--data',
      data,
    );
    expect(code).toBe(1);
    expect(stderr).toContain(`dead letter ${unreadable.id} refused again: Splunk`);
  });

  it('replay with --source ingests it as an alert, and lists it as replayed', async () => {
    const { stdout, stderr, code } = await run(
      'deadletter',
      'replay',
      readable.id,
      '--source',
      'native',
      '--config',
      DEMO,
      '--data',
      data,
    );
    expect({ stderr, code }).toEqual({ stderr: '', code: 0 });
    expect(stdout).toMatch(
      new RegExp(`^replayed dead letter ${readable.id}: new alert \\S+ in case #1\\n$`),
    );
    const listed = await run('deadletter', 'list', '--data', data);
    expect(listed.stdout).toMatch(new RegExp(`${readable.id}.*alert `));
    expect(listed.stdout).toMatch(new RegExp(`${unreadable.id}.*refused again`));
  });

  it('replay --all replays every pending dead letter, oldest first: the refused one again', async () => {
    const second = makeDeadLetter({
      receivedAt: '2026-03-01T12:03:00.000Z',
      body: JSON.stringify({ type: 'prompt_injection', title: 'ignore previous', class_uid: 1 }),
    });
    const store = new SqliteStore({ dataDir: data });
    await store.transaction((tx) => tx.insertDeadLetter(second));
    await store.close();

    const args = ['--source', 'native', '--config', DEMO, '--data', data];
    const { stdout, stderr, code } = await run('deadletter', 'replay', '--all', ...args);
    // `readable` was replayed into an alert already; `unreadable` and `second` are pending.
    expect(stdout).toBe('replayed 2 dead letters: 1 stored as alerts, 1 refused again\n');
    expect(stderr).toContain(`dead letter ${unreadable.id} refused again: native alert:`);
    expect(code).toBe(1);
    const listed = await run('deadletter', 'list', '--data', data);
    expect(listed.stdout).toMatch(new RegExp(`${second.id}.*alert `));

    const limited = await run('deadletter', 'replay', '--all', '--limit', '1', ...args);
    expect(limited.stdout).toBe('replayed 1 dead letter: 0 stored as alerts, 1 refused again\n');
  });

  it('replay wants an id or --all, not both', async () => {
    await expect(run('deadletter', 'replay', '--data', data)).rejects.toMatchObject({
      code: 'missing_field',
      message: 'give a dead letter id (see warden deadletter list), or --all',
    });
    await expect(
      run('deadletter', 'replay', readable.id, '--all', '--data', data),
    ).rejects.toMatchObject({ code: 'invalid_field', field: '--all' });
  });

  it('refuses an unknown format before opening anything', async () => {
    await expect(
      run('deadletter', 'replay', readable.id, '--source', 'nope', '--data', data),
    ).rejects.toMatchObject({ code: 'unknown_source_format' });
  });
});
