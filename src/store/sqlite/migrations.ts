/** Numbered, append-only schema migrations. Never edit one that has shipped: add the next. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'alerts, cases, timeline, audit log, tokens',
    sql: `
      CREATE TABLE alerts (
        id TEXT PRIMARY KEY,
        dedup_key TEXT NOT NULL,
        case_id TEXT,
        type TEXT NOT NULL,
        severity_id INTEGER NOT NULL,
        source_format TEXT NOT NULL,
        model_id TEXT,
        business_unit TEXT,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        count INTEGER NOT NULL,
        received_at TEXT NOT NULL,
        doc TEXT NOT NULL,
        raw TEXT NOT NULL
      );
      CREATE INDEX alerts_by_dedup_key ON alerts (dedup_key, last_seen);
      CREATE INDEX alerts_by_case ON alerts (case_id, received_at);

      CREATE TABLE cases (
        id TEXT PRIMARY KEY,
        number INTEGER NOT NULL UNIQUE,
        status TEXT NOT NULL,
        phase TEXT NOT NULL,
        severity_id INTEGER NOT NULL,
        tier INTEGER,
        business_unit TEXT,
        assignee TEXT,
        last_seen TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        doc TEXT NOT NULL
      );
      CREATE INDEX cases_by_update ON cases (updated_at, id);
      CREATE INDEX cases_by_status ON cases (status, updated_at, id);
      CREATE INDEX cases_by_unit ON cases (business_unit, updated_at, id);

      CREATE TABLE case_models (
        model_id TEXT NOT NULL,
        case_id TEXT NOT NULL,
        PRIMARY KEY (model_id, case_id)
      ) WITHOUT ROWID;

      CREATE TABLE correlation_keys (
        key TEXT NOT NULL,
        case_id TEXT NOT NULL,
        PRIMARY KEY (key, case_id)
      ) WITHOUT ROWID;
      CREATE INDEX correlation_keys_by_case ON correlation_keys (case_id);

      CREATE TABLE timeline (
        id TEXT PRIMARY KEY,
        case_id TEXT NOT NULL,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        kind TEXT NOT NULL,
        message TEXT NOT NULL,
        data TEXT NOT NULL
      );
      CREATE INDEX timeline_by_case ON timeline (case_id, id);

      CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        subject TEXT NOT NULL,
        data TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
      );

      CREATE TABLE api_tokens (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL,
        units TEXT,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL
      );

      CREATE TABLE counters (
        name TEXT PRIMARY KEY,
        value INTEGER NOT NULL
      );
      INSERT INTO counters (name, value)
        VALUES ('case_number', 0), ('audit_entries', 0), ('alerts', 0), ('events', 0);
    `,
  },
  {
    version: 2,
    name: 'playbook runs, run events, approvals, effects',
    sql: `
      CREATE TABLE playbook_runs (
        id TEXT PRIMARY KEY,
        playbook_id TEXT NOT NULL,
        playbook_version INTEGER NOT NULL,
        case_id TEXT NOT NULL,
        alert_id TEXT NOT NULL,
        business_unit TEXT,
        parent_run_id TEXT,
        parent_step_id TEXT,
        status TEXT NOT NULL,
        wake_at TEXT,
        state TEXT NOT NULL,
        command TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        finished_at TEXT
      );
      CREATE INDEX playbook_runs_by_case ON playbook_runs (case_id, created_at);
      -- Only unfinished runs are ever looked for by the executor.
      CREATE INDEX playbook_runs_due ON playbook_runs (status, wake_at, updated_at)
        WHERE status IN ('queued', 'running', 'waiting');

      CREATE TABLE run_events (
        run_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        step_id TEXT,
        data TEXT NOT NULL,
        PRIMARY KEY (run_id, seq)
      ) WITHOUT ROWID;

      CREATE TABLE approvals (
        id TEXT PRIMARY KEY,
        run_id TEXT NOT NULL,
        step_id TEXT NOT NULL,
        case_id TEXT NOT NULL,
        business_unit TEXT,
        status TEXT NOT NULL,
        approvers TEXT NOT NULL,
        message TEXT NOT NULL,
        requested_at TEXT NOT NULL,
        deadline TEXT NOT NULL,
        answered_by TEXT,
        answered_role TEXT,
        answered_at TEXT,
        comment TEXT
      );
      CREATE INDEX approvals_by_status ON approvals (status, requested_at, id);

      CREATE TABLE effects (
        idempotency_key TEXT PRIMARY KEY,
        run_id TEXT NOT NULL,
        step_id TEXT NOT NULL,
        item INTEGER,
        connector TEXT NOT NULL,
        action TEXT NOT NULL,
        input TEXT NOT NULL,
        status TEXT NOT NULL,
        output TEXT,
        error TEXT,
        exchange TEXT,
        sent_at TEXT NOT NULL,
        finished_at TEXT
      );
      CREATE INDEX effects_by_run ON effects (run_id, step_id);
    `,
  },
  {
    version: 3,
    name: 'dead letters',
    sql: `
      CREATE TABLE dead_letters (
        id TEXT PRIMARY KEY,
        received_at TEXT NOT NULL,
        source TEXT,
        reason_code TEXT NOT NULL,
        reason TEXT NOT NULL,
        field TEXT,
        body TEXT NOT NULL,
        replayed_at TEXT,
        replay_result TEXT
      );
      CREATE INDEX dead_letters_by_received ON dead_letters (received_at, id);
    `,
  },
  {
    version: 4,
    name: 'evidence and its chain of custody',
    sql: `
      CREATE TABLE evidence (
        id TEXT PRIMARY KEY,
        case_id TEXT NOT NULL,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        media_type TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        size_bytes INTEGER NOT NULL,
        source TEXT NOT NULL,
        collected_at TEXT NOT NULL,
        content BLOB NOT NULL
      );
      CREATE INDEX evidence_by_case ON evidence (case_id, id);
      -- Evidence is never altered or removed, whatever the code above it does.
      CREATE TRIGGER evidence_is_immutable BEFORE UPDATE ON evidence
        BEGIN SELECT RAISE(ABORT, 'evidence is immutable'); END;
      CREATE TRIGGER evidence_is_kept BEFORE DELETE ON evidence
        BEGIN SELECT RAISE(ABORT, 'evidence is never deleted'); END;

      CREATE TABLE evidence_custody (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        evidence_id TEXT NOT NULL REFERENCES evidence (id),
        case_id TEXT NOT NULL,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        detail TEXT NOT NULL
      );
      CREATE INDEX custody_by_evidence ON evidence_custody (evidence_id, seq);
      CREATE INDEX custody_by_case ON evidence_custody (case_id, seq);
      CREATE TRIGGER custody_is_append_only BEFORE UPDATE ON evidence_custody
        BEGIN SELECT RAISE(ABORT, 'the chain of custody is append-only'); END;
      CREATE TRIGGER custody_is_kept BEFORE DELETE ON evidence_custody
        BEGIN SELECT RAISE(ABORT, 'the chain of custody is append-only'); END;
    `,
  },
  {
    version: 5,
    name: 'index of runs ready to go on, oldest update first',
    // The executor takes the oldest ready runs a few at a time; with a
    // backlog of thousands, sorting them all for each poll cost more than
    // the runs it started.
    sql: `
      CREATE INDEX playbook_runs_ready ON playbook_runs (status, updated_at, id)
        WHERE status IN ('queued', 'running');
    `,
  },
  {
    version: 6,
    name: 'when each approval request was announced',
    // Approvals asked before this column existed were announced then (or
    // given up on): only new ones are announced again after a crash.
    sql: `
      ALTER TABLE approvals ADD COLUMN announced_at TEXT;
      UPDATE approvals SET announced_at = requested_at;
    `,
  },
  {
    version: 7,
    name: 'cases whose row lags the alerts linked to them',
    // Alerts linked to a case after its row was last written have rowids
    // above since_alert: enough to rebuild the case after a crash.
    sql: `
      CREATE TABLE unwritten_cases (
        case_id TEXT PRIMARY KEY,
        since_alert INTEGER NOT NULL
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 8,
    name: 'run events stored as one row per append',
    // A run appends its trace a few times (once per commit), a dozen events
    // in all; a row per event made them the most-written rows in the store.
    // Each row holds the events of one append, [at, kind, step_id, data]
    // each, the last of them numbered last_seq.
    sql: `
      CREATE TABLE run_event_groups (
        run_id TEXT NOT NULL,
        last_seq INTEGER NOT NULL,
        events TEXT NOT NULL,
        PRIMARY KEY (run_id, last_seq)
      ) WITHOUT ROWID;
      INSERT INTO run_event_groups (run_id, last_seq, events)
        SELECT run_id, seq, json_array(json_array(at, kind, step_id, json(data))) FROM run_events;
      DROP TABLE run_events;
    `,
  },
];
