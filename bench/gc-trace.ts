/**
 * What V8's garbage collector did in a server, read from the lines
 * `--trace-gc-nvp` prints (one per collection, per isolate: the main
 * thread's and each worker thread's). Throughput on a noisy machine varies
 * by a fifth between runs of the same code; the bytes a run allocates vary
 * by a few percent, so they show whether a change made less garbage.
 */

export interface IsolateGc {
  /** V8's isolate address as printed, e.g. 0x7f09d4001000. */
  isolate: string;
  /** The process's first isolate to collect: its main thread. */
  main: boolean;
  collections: number;
  /** Bytes allocated between collections (each line gives those since the one before). */
  allocated: number;
  /** Bytes moved from the young generation to the old. */
  promoted: number;
  /** Time the thread stood still for collections, ms. */
  pauseMs: number;
  /** Time V8's helper threads spent on this isolate's collections, ms (summed over threads). */
  backgroundMs: number;
}

const LINE = /^\[\d+:(0x[0-9a-f]+)\]\s+[\d.]+ ms: (pause=.*)$/;

export class GcTrace {
  private readonly totals = new Map<string, IsolateGc>();
  private partial = '';

  /** Takes the server's output as it comes; lines that are not GC lines are ignored. */
  feed(chunk: string): void {
    const lines = (this.partial + chunk).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) this.add(line);
  }

  /** Totals so far, per isolate (a copy: compare two with `gcBetween`). */
  snapshot(): Map<string, IsolateGc> {
    return new Map([...this.totals].map(([k, v]) => [k, { ...v }]));
  }

  private add(line: string): void {
    const match = LINE.exec(line);
    if (!match) return;
    const isolate = match[1] as string;
    let total = this.totals.get(isolate);
    if (!total) {
      total = {
        isolate,
        main: this.totals.size === 0,
        collections: 0,
        allocated: 0,
        promoted: 0,
        pauseMs: 0,
        backgroundMs: 0,
      };
      this.totals.set(isolate, total);
    }
    total.collections += 1;
    for (const field of (match[2] as string).split(' ')) {
      const eq = field.indexOf('=');
      const key = field.slice(0, eq);
      const value = Number(field.slice(eq + 1));
      if (!Number.isFinite(value)) continue;
      if (key === 'pause') total.pauseMs += value;
      else if (key === 'allocated') total.allocated += value;
      else if (key === 'promoted') total.promoted += value;
      else if (key.startsWith('background.')) total.backgroundMs += value;
    }
  }
}

/** What each isolate did between two snapshots, the busiest (most allocated) first. */
export function gcBetween(
  before: Map<string, IsolateGc>,
  after: Map<string, IsolateGc>,
): IsolateGc[] {
  const out: IsolateGc[] = [];
  for (const [isolate, b] of after) {
    const a = before.get(isolate);
    out.push({
      isolate,
      main: b.main,
      collections: b.collections - (a?.collections ?? 0),
      allocated: b.allocated - (a?.allocated ?? 0),
      promoted: b.promoted - (a?.promoted ?? 0),
      pauseMs: b.pauseMs - (a?.pauseMs ?? 0),
      backgroundMs: b.backgroundMs - (a?.backgroundMs ?? 0),
    });
  }
  return out.filter((g) => g.collections > 0).sort((x, y) => y.allocated - x.allocated);
}

/**
 * One line per isolate that collected, per unit of work, e.g.
 * `writer? 0x7f..: 158 KB/run allocated, 21 KB promoted; GC 64 µs/run paused + 150 in helpers (48 GCs)`.
 */
export function describeGc(isolates: IsolateGc[], units: number, unit: string): string[] {
  return isolates.map((g) => {
    const per = (x: number): string => Math.round(x / units).toLocaleString('en-US');
    return (
      `${g.main ? 'main thread' : `thread ${g.isolate}`}: ${per(g.allocated / 1000)} KB/${unit} allocated, ` +
      `${per(g.promoted / 1000)} KB promoted; GC ${per(g.pauseMs * 1000)} µs/${unit} paused + ` +
      `${per(g.backgroundMs * 1000)} in helper threads (${g.collections} collections)`
    );
  });
}
