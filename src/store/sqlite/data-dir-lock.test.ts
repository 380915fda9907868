import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WardenError } from '../../core/errors.js';
import { DATA_DIR_LOCK_FILE, DataDirLock } from './data-dir-lock.js';

const dirs: string[] = [];
const children: ChildProcess[] = [];

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'warden-lock-'));
  dirs.push(dir);
  return dir;
}

afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function conflictOf(action: () => unknown): WardenError {
  try {
    action();
  } catch (error) {
    if (error instanceof WardenError) return error;
    throw error;
  }
  throw new Error('expected the lock to be refused');
}

/** Another process that takes the lock the way Warden does, says so, and holds it until killed. */
async function holdInAnotherProcess(dir: string): Promise<ChildProcess> {
  const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
  const script = `
    const Database = require(${JSON.stringify(sqlite)});
    const db = new Database(${JSON.stringify(join(dir, DATA_DIR_LOCK_FILE))}, { timeout: 0 });
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE; COMMIT');
    process.stdout.write('locked\\n');
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('locked')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`lock holder exited with ${code}`)));
  });
  return child;
}

describe('DataDirLock', () => {
  it('refuses a second holder in the same process, naming the directory, until released', () => {
    const dir = dataDir();
    const first = DataDirLock.acquire(dir);
    const refused = conflictOf(() => DataDirLock.acquire(dir));
    expect(refused.code).toBe('conflict');
    expect(refused.message).toContain(`data directory ${dir} is in use by another Warden process`);
    first.release();
    first.release(); // twice is harmless
    DataDirLock.acquire(dir).release();
  });

  it('refuses while another process holds it, and is free once that process is killed', async () => {
    const dir = dataDir();
    const holder = await holdInAnotherProcess(dir);
    expect(conflictOf(() => DataDirLock.acquire(dir)).code).toBe('conflict');
    const exited = new Promise((resolve) => holder.once('exit', resolve));
    holder.kill('SIGKILL');
    await exited;
    // No stale lock to remove by hand: the operating system dropped it with the process.
    DataDirLock.acquire(dir).release();
  });

  it('creates a missing data directory', () => {
    const dir = join(dataDir(), 'new', 'data');
    DataDirLock.acquire(dir).release();
  });
});
