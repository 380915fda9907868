import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  AUDIT_GENESIS_HASH,
  AuditChainVerifier,
  auditHash,
  canonicalJson,
  chainAuditEntry,
  describeAuditProblem,
  formatAuditAnchor,
  parseAuditAnchor,
  sealAuditEntry,
  type AuditAnchor,
  type AuditDraft,
  type AuditEntry,
  type AuditProblem,
} from './audit-chain.js';

function draft(n: number, data: Record<string, unknown> = { n }): AuditDraft {
  return {
    at: `2026-03-01T12:00:0${n % 10}.000Z`,
    actor: 'alice',
    action: `case.test_${n}`,
    subject: `case-${n}`,
    data,
  };
}

function chain(length: number): AuditEntry[] {
  const entries: AuditEntry[] = [];
  let prev = AUDIT_GENESIS_HASH;
  for (let seq = 1; seq <= length; seq++) {
    const entry = chainAuditEntry(seq, prev, draft(seq));
    entries.push(entry);
    prev = entry.hash;
  }
  return entries;
}

function verify(
  entries: AuditEntry[],
  recordedCount?: number,
): ReturnType<AuditChainVerifier['finish']> {
  const verifier = new AuditChainVerifier();
  for (const e of entries) verifier.push(e);
  return verifier.finish(recordedCount);
}

describe('canonicalJson', () => {
  it('does not depend on key order, at any depth', () => {
    const a = { b: 1, a: { d: [1, { y: 2, x: 1 }], c: 'x' } };
    const b = { a: { c: 'x', d: [1, { x: 1, y: 2 }] }, b: 1 };
    expect(canonicalJson(a)).toBe(canonicalJson(b));
    expect(canonicalJson(a)).toBe('{"a":{"c":"x","d":[1,{"x":1,"y":2}]},"b":1}');
  });

  it('keeps array order', () => {
    expect(canonicalJson([2, 1])).not.toBe(canonicalJson([1, 2]));
  });

  it('writes scalars as JSON does', () => {
    for (const v of [null, true, 0, -1.5, 'a"b\n', '√']) {
      expect(canonicalJson(v)).toBe(JSON.stringify(v));
    }
  });

  it('drops undefined properties as JSON does, and writes undefined in arrays as null', () => {
    expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}');
    expect(canonicalJson([undefined, 1])).toBe('[null,1]');
    expect(canonicalJson(undefined)).toBe('null');
    // Skipped fields first, in the middle and last, in sorted and unsorted objects.
    expect(canonicalJson({ a: undefined, b: 1, c: undefined, d: 2, e: undefined })).toBe(
      '{"b":1,"d":2}',
    );
    expect(canonicalJson({ e: undefined, d: 2, c: undefined, b: 1 })).toBe('{"b":1,"d":2}');
    expect(canonicalJson({ a: undefined })).toBe('{}');
  });

  it('quotes keys that need escaping, as JSON does', () => {
    const value = { 'quote"d': 1, 'new\nline': 2, 'é ✓': 3 };
    expect(JSON.parse(canonicalJson(value))).toEqual(value);
    expect(canonicalJson(value)).toBe(canonicalJson(value));
  });

  it('orders keys by code unit, not locale', () => {
    expect(canonicalJson({ b: 1, B: 2, a: 3, _: 4 })).toBe('{"B":2,"_":4,"a":3,"b":1}');
  });
});

/** The definition canonicalJson must match: every object's keys sorted, built by hand. */
function referenceJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return referenceJson((toJSON as () => unknown).call(value));
  if (Array.isArray(value)) return `[${value.map((v) => referenceJson(v)).join(',')}]`;
  const object = value as Record<string, unknown>;
  const fields = Object.keys(object)
    .sort()
    .filter((key) => object[key] !== undefined)
    .map((key) => `${JSON.stringify(key)}:${referenceJson(object[key])}`);
  return `{${fields.join(',')}}`;
}

describe('canonicalJson against its definition', () => {
  const inherited = Object.create({ z: () => 1 }) as Record<string, unknown>;
  inherited.a = 2;
  const bare = Object.create(null) as Record<string, unknown>;
  bare.b = 1;
  bare.a = 2;
  let deep: unknown = { z: 1, a: 2 };
  for (let i = 0; i < 80; i += 1) deep = { next: deep };
  const cases: [string, unknown][] = [
    ['keys already in order', { a: 1, b: { c: [1, { d: 'x', e: null }] } }],
    ['keys out of order deep inside', { a: 1, b: { c: [1, { e: null, d: 'x' }] } }],
    ['integer-like keys', { 2: 'two', 10: 'ten', a: 1 }],
    ['an inherited enumerable key', inherited],
    ['an object without a prototype', bare],
    ['a function field', { a: 1, f: () => 1, z: 2 }],
    ['a symbol field', { a: Symbol('s'), b: 1 }],
    ['functions and undefined in an array', [() => 1, undefined, Symbol('s'), 1]],
    ['a Date inside sorted keys', { at: new Date(0), b: 1 }],
    ['toJSON returning keys out of order', { a: { toJSON: () => ({ y: 1, x: 2 }) } }],
    [
      'an inherited toJSON returning keys out of order',
      {
        a: new (class {
          toJSON(): unknown {
            return { y: 1, x: 2 };
          }
        })(),
      },
    ],
    ['undefined fields', { a: undefined, b: 1, c: undefined }],
    ['more levels than the order check follows', deep],
  ];
  it.each(cases)('matches the sorted definition: %s', (_label, value) => {
    expect(canonicalJson(value)).toBe(referenceJson(value));
  });
});

describe('sealAuditEntry', () => {
  it('gives the entry chainAuditEntry gives, and its data as canonical JSON', () => {
    const d = draft(3, { z: 1, a: { y: [2, 1], b: 'x' } });
    const { entry, dataJson } = sealAuditEntry(3, 'a'.repeat(64), d);
    expect(entry).toEqual(chainAuditEntry(3, 'a'.repeat(64), d));
    expect(dataJson).toBe('{"a":{"b":"x","y":[2,1]},"z":1}');
  });

  it('hashes fields that need escaping as the canonical JSON of the whole entry', () => {
    const d: AuditDraft = {
      at: '2026-03-01T12:00:00.000Z',
      actor: 'token:"ops" \\ ünïcode',
      action: 'case.note\n',
      subject: 'case-"1"\u2028',
      data: { message: 'a "quoted"\nline', b: [1, 'é'] },
    };
    const expected = createHash('sha256')
      .update(canonicalJson({ ...d, seq: 7, prevHash: AUDIT_GENESIS_HASH }))
      .digest('hex');
    expect(sealAuditEntry(7, AUDIT_GENESIS_HASH, d).entry.hash).toBe(expected);
  });
});

describe('chainAuditEntry and auditHash', () => {
  it('hashes the canonical JSON of seq, prevHash and the draft', () => {
    const d = draft(1);
    const expected = createHash('sha256')
      .update(canonicalJson({ seq: 1, prevHash: AUDIT_GENESIS_HASH, ...d }))
      .digest('hex');
    const entry = chainAuditEntry(1, AUDIT_GENESIS_HASH, d);
    expect(entry).toEqual({ ...d, seq: 1, prevHash: AUDIT_GENESIS_HASH, hash: expected });
    expect(entry.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('gives a different hash when anything covered changes', () => {
    const base = auditHash(1, AUDIT_GENESIS_HASH, draft(1));
    expect(auditHash(2, AUDIT_GENESIS_HASH, draft(1))).not.toBe(base);
    expect(auditHash(1, 'f'.repeat(64), draft(1))).not.toBe(base);
    expect(auditHash(1, AUDIT_GENESIS_HASH, { ...draft(1), actor: 'bob' })).not.toBe(base);
    expect(auditHash(1, AUDIT_GENESIS_HASH, draft(1, { n: 2 }))).not.toBe(base);
  });

  it('gives the same hash whatever the key order of the data', () => {
    expect(auditHash(1, AUDIT_GENESIS_HASH, draft(1, { a: 1, b: { c: 2, d: 3 } }))).toBe(
      auditHash(1, AUDIT_GENESIS_HASH, draft(1, { b: { d: 3, c: 2 }, a: 1 })),
    );
  });

  it('survives a JSON round trip, as a stored entry must', () => {
    const entry = chainAuditEntry(1, AUDIT_GENESIS_HASH, draft(1, { z: [1, 'x'], a: null }));
    expect(verify([JSON.parse(JSON.stringify(entry)) as AuditEntry]).ok).toBe(true);
  });

  // Bug: canonicalJson ignores toJSON, so data holding a Date hashes as "{}"
  // while the store writes (and later reads back) its ISO string; the entry
  // then fails verification as "edited" although nobody touched it.
  it('hashes data with a Date the way it will be stored', () => {
    const entry = chainAuditEntry(1, AUDIT_GENESIS_HASH, draft(1, { when: new Date(0) }));
    expect(verify([JSON.parse(JSON.stringify(entry)) as AuditEntry]).ok).toBe(true);
  });
});

describe('AuditChainVerifier', () => {
  it('accepts an intact chain and counts it', () => {
    expect(verify(chain(5), 5)).toEqual({ ok: true, entries: 5, problems: [] });
    expect(verify(chain(5))).toEqual({ ok: true, entries: 5, problems: [] });
    expect(verify([], 0)).toEqual({ ok: true, entries: 0, problems: [] });
  });

  it('detects an edited entry', () => {
    const entries = chain(4);
    entries[1] = { ...(entries[1] as AuditEntry), data: { n: 99 } };
    expect(verify(entries, 4).problems).toEqual([{ kind: 'edited', seq: 2 }]);
  });

  it('detects an edited actor, action, subject or time', () => {
    for (const field of ['actor', 'action', 'subject', 'at'] as const) {
      const entries = chain(3);
      entries[2] = { ...(entries[2] as AuditEntry), [field]: 'forged' };
      expect(verify(entries, 3).problems, field).toEqual([{ kind: 'edited', seq: 3 }]);
    }
  });

  it('detects a missing entry', () => {
    const entries = chain(5);
    entries.splice(2, 1);
    expect(verify(entries).problems).toEqual([{ kind: 'missing', afterSeq: 2, expectedSeq: 3 }]);
    expect(verify(chain(3).slice(1)).problems).toEqual([
      { kind: 'missing', afterSeq: 0, expectedSeq: 1 },
    ]);
  });

  it('detects an entry re-hashed after editing, at the entry that follows it', () => {
    const entries = chain(4);
    const target = entries[1] as AuditEntry;
    entries[1] = chainAuditEntry(2, target.prevHash, { ...draft(2), actor: 'mallory' });
    expect(verify(entries, 4).problems).toEqual([{ kind: 'relinked', seq: 3 }]);
  });

  it('detects an entry that links to the wrong predecessor', () => {
    const entries = chain(3);
    entries[0] = chainAuditEntry(1, 'a'.repeat(64), draft(1));
    const problems = verify(entries).problems;
    expect(problems).toContainEqual({ kind: 'relinked', seq: 1 });
  });

  it('detects a truncated tail against the recorded count', () => {
    expect(verify(chain(5).slice(0, 3), 5)).toEqual({
      ok: false,
      entries: 3,
      problems: [{ kind: 'truncated', expectedCount: 5, actualCount: 3 }],
    });
  });

  it('reports every problem it finds', () => {
    const entries = chain(6);
    entries[0] = { ...(entries[0] as AuditEntry), actor: 'x' };
    entries.splice(3, 1);
    const result = verify(entries, 6);
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([
      { kind: 'edited', seq: 1 },
      { kind: 'missing', afterSeq: 3, expectedSeq: 4 },
      { kind: 'truncated', expectedCount: 6, actualCount: 5 },
    ]);
  });
});

describe('anchors: entries recorded outside Warden', () => {
  const anchored = (entries: AuditEntry[], anchors: AuditAnchor[], recorded?: number) => {
    const verifier = new AuditChainVerifier(anchors);
    for (const e of entries) verifier.push(e);
    return verifier.finish(recorded);
  };

  it('passes when each anchored entry still has its hash', () => {
    const log = chain(5);
    const anchors = [log[1], log[4]].map((e) =>
      parseAuditAnchor(formatAuditAnchor(e as AuditEntry)),
    );
    expect(anchored(log, anchors)).toEqual({ ok: true, entries: 5, problems: [] });
  });

  it('catches a log rewritten from an entry on, whose chain alone verifies', () => {
    const log = chain(5);
    const anchor = parseAuditAnchor(formatAuditAnchor(log[3] as AuditEntry));
    // Whoever can write the store edits entry 2 and recomputes every hash after it.
    const rewritten: AuditEntry[] = [log[0] as AuditEntry];
    for (let seq = 2; seq <= 5; seq += 1) {
      const data = seq === 2 ? { n: 2, role: 'admin' } : { n: seq };
      rewritten.push(chainAuditEntry(seq, rewritten[seq - 2]?.hash ?? '', draft(seq, data)));
    }
    expect(verify(rewritten)).toMatchObject({ ok: true });
    expect(anchored(rewritten, [anchor]).problems).toEqual([{ kind: 'anchor_mismatch', seq: 4 }]);
  });

  it('catches a log cut back below an anchored entry, even with its count fixed up', () => {
    const log = chain(5);
    const anchor = parseAuditAnchor(formatAuditAnchor(log[4] as AuditEntry));
    expect(anchored(log.slice(0, 3), [anchor], 3).problems).toEqual([
      { kind: 'anchor_missing', seq: 5 },
    ]);
  });

  it('reads SEQ:HASH, and names the field of anything else', () => {
    const hash = 'AB'.repeat(32);
    expect(parseAuditAnchor(` 42:${hash} `)).toEqual({ seq: 42, hash: hash.toLowerCase() });
    for (const bad of ['42', `0:${hash}`, `x:${hash}`, '42:abc', `42:${hash}0`, '']) {
      let error: unknown;
      try {
        parseAuditAnchor(bad, '--anchor');
      } catch (e) {
        error = e;
      }
      expect(error, bad).toMatchObject({ code: 'invalid_field', field: '--anchor' });
      expect((error as Error).message).toMatch(/^--anchor must be SEQ:HASH/);
    }
  });
});

describe('describeAuditProblem', () => {
  it.each<[AuditProblem, string]>([
    [{ kind: 'edited', seq: 3 }, 'entry 3 was edited (its hash does not match its content)'],
    [{ kind: 'missing', afterSeq: 2, expectedSeq: 3 }, 'entry 3 is missing (after entry 2)'],
    [{ kind: 'relinked', seq: 4 }, 'entry 4 does not link to the entry before it'],
    [
      { kind: 'truncated', expectedCount: 5, actualCount: 3 },
      'the log ends early: 3 entries, 5 recorded',
    ],
    [
      { kind: 'anchor_mismatch', seq: 7 },
      'entry 7 does not have the hash recorded outside Warden: the log was rewritten at or before it',
    ],
    [
      { kind: 'anchor_missing', seq: 9 },
      'entry 9, recorded outside Warden, is not in the log: it was cut back',
    ],
  ])('describes %j', (problem, text) => {
    expect(describeAuditProblem(problem)).toBe(text);
  });
});
