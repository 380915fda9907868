import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WalCheckpointer } from './wal-checkpointer.js';

describe('WalCheckpointer', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  /**
   * Commits 2 KB rows for `ms` while a checkpointer runs every 20 ms, pausing
   * between commits as the writer thread does while it waits for work and
   * for its syncs; the WAL file's largest size.
   */
  async function walHighWater(restartFrames: number, ms: number): Promise<number> {
    const dir = mkdtempSync(join(tmpdir(), 'warden-ckpt-'));
    dirs.push(dir);
    const path = join(dir, 'warden.db');
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('wal_autocheckpoint = 0');
    db.pragma('busy_timeout = 5000');
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
    const insert = db.prepare('INSERT INTO t (body) VALUES (?)');
    const checkpointer = new WalCheckpointer(path, 20, restartFrames);
    let highWater = 0;
    try {
      const until = Date.now() + ms;
      while (Date.now() < until) {
        db.transaction(() => {
          for (let i = 0; i < 20; i += 1) insert.run('x'.repeat(2000));
        })();
        highWater = Math.max(highWater, statSync(`${path}-wal`).size);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    } finally {
      await checkpointer.stop();
      db.close();
    }
    return highWater;
  }

  it('restarts a log that passes its limit, so the WAL stops growing under steady commits', async () => {
    const unbounded = await walHighWater(Number.MAX_SAFE_INTEGER, 1500);
    const bounded = await walHighWater(200, 1500);
    // 200 frames of 4 KB is 0.8 MB; a checkpoint interval's commits come on top.
    expect(bounded).toBeLessThan(unbounded / 4);
    expect(unbounded).toBeGreaterThan(10_000_000);
  });
});
