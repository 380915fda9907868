import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { IngestObserver } from '../pipeline/ingest-queue.js';
import type { PullObserver, PullOutcome } from '../sources/pull/pull-source.js';
import type { Store } from '../store/store.js';

/** Prometheus metrics on a registry of our own (no global state). */
export class WardenMetrics implements IngestObserver, PullObserver {
  readonly registry = new Registry();
  readonly alertsIngested = new Counter({
    name: 'warden_alerts_ingested_total',
    help: 'Alerts received, by outcome (new, duplicate, rejected, ignored)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly casesOpened = new Counter({
    name: 'warden_cases_opened_total',
    help: 'Cases opened by correlation',
    registers: [this.registry],
  });
  readonly batchSeconds = new Histogram({
    name: 'warden_ingest_commit_seconds',
    help: 'Time to process and durably commit one group of alerts',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  readonly batchSize = new Histogram({
    name: 'warden_ingest_commit_alerts',
    help: 'Alerts per group commit',
    buckets: [1, 5, 10, 50, 100, 500, 1000, 2000],
    registers: [this.registry],
  });

  readonly pullAlerts = new Counter({
    name: 'warden_pull_alerts_total',
    help: 'Alerts a pull source (sources.yaml) read, by source and outcome (committed, rejected)',
    labelNames: ['source', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly pullRuns = new Counter({
    name: 'warden_pull_runs_total',
    help: 'Polls and directory scans, by source and result (ok, failed)',
    labelNames: ['source', 'result'] as const,
    registers: [this.registry],
  });
  readonly pullLastSuccess = new Gauge({
    name: 'warden_pull_last_success_timestamp_seconds',
    help: 'When a pull source last polled or scanned without failing (Unix time)',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });
  readonly pullFailing = new Gauge({
    name: 'warden_pull_consecutive_failures',
    help: 'Polls or scans that failed in a row, by source (0 once one succeeds)',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });

  constructor(
    store: Store,
    private readonly clock: () => Date = () => new Date(),
  ) {
    collectDefaultMetrics({ register: this.registry, prefix: 'warden_' });
    // Collected on scrape; the registry holds the gauges.
    new Gauge({
      name: 'warden_store_records',
      help: 'Records in the store, by kind',
      labelNames: ['kind'] as const,
      registers: [this.registry],
      async collect() {
        const c = await store.counts();
        this.set({ kind: 'alerts' }, c.alerts);
        this.set({ kind: 'events' }, c.events);
        this.set({ kind: 'cases' }, c.cases);
        this.set({ kind: 'open_cases' }, c.openCases);
      },
    });
    new Gauge({
      name: 'warden_alert_case_compression_ratio',
      help: 'Stored alerts per case (higher = more noise folded into fewer cases)',
      registers: [this.registry],
      async collect() {
        const c = await store.counts();
        this.set(c.cases === 0 ? 0 : c.alerts / c.cases);
      },
    });
  }

  batchCommitted(info: {
    alerts: number;
    duplicates: number;
    casesOpened: number;
    ms: number;
  }): void {
    this.alertsIngested.inc({ outcome: 'new' }, info.alerts - info.duplicates);
    if (info.duplicates > 0) this.alertsIngested.inc({ outcome: 'duplicate' }, info.duplicates);
    if (info.casesOpened > 0) this.casesOpened.inc(info.casesOpened);
    this.batchSeconds.observe(info.ms / 1000);
    this.batchSize.observe(info.alerts);
  }

  pulled(source: string, outcome: PullOutcome): void {
    this.pullRuns.inc({ source, result: outcome.ok ? 'ok' : 'failed' });
    if (outcome.alerts > 0) this.pullAlerts.inc({ source, outcome: 'committed' }, outcome.alerts);
    if (outcome.rejected > 0)
      this.pullAlerts.inc({ source, outcome: 'rejected' }, outcome.rejected);
    if (outcome.ok) {
      this.pullLastSuccess.set({ source }, this.clock().getTime() / 1000);
      this.pullFailing.set({ source }, 0);
    } else {
      this.pullFailing.inc({ source });
    }
  }
}
