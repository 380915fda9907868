/**
 * Fills a Warden store for the read-path measurements through the real
 * pipeline (normalise → prepare → submit in chunks of 2,000, one group commit
 * each), so every row, case, timeline entry and audit entry is what
 * production would write. Then closes most cases, as a SOC would have
 * triaged them, so `status=open` is a selective filter.
 *
 * Runs in this process with synchronous=NORMAL: the fill's durability is not
 * what is being measured, and it saves an fsync per chunk.
 */
import type { Principal } from '../src/core/access.js';
import { openWarden } from '../src/main.js';
import { normalizeNativeAlert } from '../src/sources/native.js';
import { AlertGenerator } from './alert-generator.js';

export interface FillOptions {
  dataDir: string;
  configDir: string;
  /** Distinct alerts to store; ~10% more are sent, as repeats that fold into stored ones. */
  alerts: number;
  /** Share of cases closed after the fill (never the largest). @default 0.6 */
  closeShare?: number;
  onProgress?: (phase: 'alerts' | 'closing', done: number, total: number) => void;
}

export interface FillResult {
  /** Alerts sent through the pipeline, repeats included. */
  sent: number;
  stored: { alerts: number; events: number; cases: number; openCases: number };
  largestCase: { id: string; alerts: number };
  alertsPerSecond: number;
  seconds: number;
}

const CHUNK = 2000;
const BENCH_PRINCIPAL: Principal = { tokenId: 'bench', name: 'bench', role: 'admin', units: null };

export async function fillStore(options: FillOptions): Promise<FillResult> {
  const warden = openWarden({
    configDir: options.configDir,
    dataDir: options.dataDir,
    synchronous: 'NORMAL',
  });
  const repeatRatio = 0.1;
  const sent = Math.round(options.alerts / (1 - repeatRatio));
  const generator = new AlertGenerator({ seed: 1, expectedAlerts: sent, repeatRatio });
  const alertsPerCase = new Map<string, number>();
  const started = performance.now();
  try {
    options.onProgress?.('alerts', 0, sent);
    for (let done = 0; done < sent;) {
      const n = Math.min(CHUNK, sent - done);
      const prepared = Array.from({ length: n }, () =>
        warden.preparer.prepare(normalizeNativeAlert(generator.next())),
      );
      const outcomes = await warden.ingest.submit(prepared);
      for (const o of outcomes) {
        if (o.status === 'new' && o.caseId) {
          alertsPerCase.set(o.caseId, (alertsPerCase.get(o.caseId) ?? 0) + 1);
        }
      }
      done += n;
      options.onProgress?.('alerts', done, sent);
    }
    const seconds = (performance.now() - started) / 1000;

    let largestCase = { id: '', alerts: 0 };
    for (const [id, alerts] of alertsPerCase) {
      if (alerts > largestCase.alerts) largestCase = { id, alerts };
    }
    const closeShare = options.closeShare ?? 0.6;
    const toClose = [...alertsPerCase.keys()].filter(
      (id, i) => id !== largestCase.id && (i % 100) / 100 < closeShare,
    );
    options.onProgress?.('closing', 0, toClose.length);
    for (let i = 0; i < toClose.length; i += 1) {
      await warden.cases.close(BENCH_PRINCIPAL, toClose[i] as string, 'benign', null);
      if (i % 500 === 499 || i === toClose.length - 1) {
        options.onProgress?.('closing', i + 1, toClose.length);
      }
    }
    return {
      sent,
      stored: await warden.store.counts(),
      largestCase,
      alertsPerSecond: sent / seconds,
      seconds,
    };
  } finally {
    await warden.close();
  }
}
