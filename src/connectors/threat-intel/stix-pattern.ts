import { domainToASCII } from 'node:url';
import { parseCidr, type CidrRange } from '../../core/ip-range.js';

/**
 * A small STIX 2.1 patterning parser and matcher for the indicators a
 * threat feed carries about single observables: IP addresses and ranges,
 * domain names, URLs, e-mail addresses and file hashes. Pure: no I/O, no
 * clock.
 *
 * Supported: `ipv4-addr:value` / `ipv6-addr:value` with `=`, `IN` and
 * `ISSUBSET` (CIDR); `domain-name:value`, `url:value`, `email-addr:value`
 * and `file:hashes.MD5` / `'SHA-1'` / `'SHA-256'` / `'SHA-512'` with `=` and
 * `IN`; comparisons joined by AND and OR (and parentheses) inside one
 * observation `[…]`; observations joined by OR. Anything else (qualifiers,
 * FOLLOWEDBY, AND between observations, NOT, MATCHES, LIKE, other objects
 * or properties, …) makes the whole pattern unsupported, never a crash,
 * so an indicator is either evaluated exactly or not at all.
 *
 * AND inside an observation: comparisons on the same object type must hold
 * for the same value (`[ipv4-addr:value ISSUBSET '10.0.0.0/8' AND
 * ipv4-addr:value = '10.1.2.3']` needs one address that is both); with
 * mixed types each side needs some matching observable. File hashes are
 * given as a flat list, so each hash comparison is satisfied by any hash.
 */

/** Which list of observables a comparison reads. */
export type ObservablePool = 'ip' | 'domain' | 'url' | 'email' | 'hash';

export type ComparisonNode = IpTest | ValueTest | Junction;

/** An IP comparison: equal to one of `ranges`, or (`subset`) inside one. */
export interface IpTest {
  readonly kind: 'test';
  readonly pool: 'ip';
  /** The object path as written, e.g. `ipv4-addr:value`. */
  readonly path: string;
  readonly operator: 'equals' | 'subset';
  readonly ranges: readonly CidrRange[];
}

/** Any other comparison: the normalised observable equals one of `values`. */
export interface ValueTest {
  readonly kind: 'test';
  readonly pool: Exclude<ObservablePool, 'ip'>;
  readonly path: string;
  readonly operator: 'equals';
  readonly values: ReadonlySet<string>;
}

export interface Junction {
  readonly kind: 'and' | 'or';
  readonly children: readonly ComparisonNode[];
  /** The one pool every comparison below reads, undefined when they are mixed. */
  readonly pool: ObservablePool | undefined;
}

/** A supported pattern: its observations, any one of which matching is a match. */
export interface ParsedPattern {
  readonly observations: readonly ComparisonNode[];
}

export type PatternParse =
  | { readonly ok: true; readonly pattern: ParsedPattern }
  | {
      readonly ok: false;
      /** `unsupported`: valid STIX this matcher does not evaluate; `invalid`: not a valid pattern. */
      readonly kind: 'unsupported' | 'invalid';
      readonly reason: string;
    };

/** Longer patterns are not parsed (a feed is untrusted input). */
export const MAX_PATTERN_LENGTH = 20_000;
const MAX_DEPTH = 64;

export function parseStixPattern(text: string): PatternParse {
  if (text.length > MAX_PATTERN_LENGTH) {
    return { ok: false, kind: 'invalid', reason: `longer than ${MAX_PATTERN_LENGTH} characters` };
  }
  try {
    const parser = new Parser(tokenize(text));
    return { ok: true, pattern: parser.parsePattern() };
  } catch (error) {
    if (error instanceof PatternProblem)
      return { ok: false, kind: error.kind, reason: error.message };
    throw error;
  }
}

// ---------------------------------------------------------------------------
// Observables

/** The observables to match, as a playbook passes them (all optional). */
export interface Observables {
  readonly ips?: readonly string[];
  readonly domains?: readonly string[];
  readonly urls?: readonly string[];
  readonly hashes?: readonly string[];
  readonly emails?: readonly string[];
}

interface IpCandidate {
  /** As the caller wrote it: reported as the matched value. */
  readonly text: string;
  readonly range: CidrRange;
}

interface ValueCandidate {
  readonly text: string;
  readonly key: string;
}

/** Observables normalised once per call; unreadable IP addresses are left out. */
export interface PreparedObservables {
  readonly ip: readonly IpCandidate[];
  readonly domain: readonly ValueCandidate[];
  readonly url: readonly ValueCandidate[];
  readonly email: readonly ValueCandidate[];
  readonly hash: readonly ValueCandidate[];
}

export function prepareObservables(observables: Observables): PreparedObservables {
  const values = (list: readonly string[] | undefined, normalize: (text: string) => string) =>
    unique(list).map((text) => ({ text, key: normalize(text) }));
  const ip: IpCandidate[] = [];
  for (const text of unique(observables.ips)) {
    const range = parseCidr(text.trim());
    if (range !== undefined) ip.push({ text, range });
  }
  return {
    ip,
    domain: values(observables.domains, normalizeDomain),
    url: values(observables.urls, normalizeUrl),
    email: values(observables.emails, normalizeEmail),
    hash: values(observables.hashes, normalizeHash),
  };
}

/** Each string once; anything else (only possible unguarded) is left out. */
function unique(list: readonly string[] | undefined): string[] {
  const strings = Array.isArray(list)
    ? list.filter((item): item is string => typeof item === 'string')
    : [];
  return [...new Set(strings)];
}

/** Lower case, no trailing dot, international names in their ASCII (xn--) form. */
export function normalizeDomain(text: string): string {
  const lower = text.trim().toLowerCase().replace(/\.$/, '');
  return domainToASCII(lower) || lower;
}

/** As WHATWG URL serialises it (scheme and host lower case, default port dropped) when it parses. */
export function normalizeUrl(text: string): string {
  const trimmed = text.trim();
  try {
    return new URL(trimmed).href;
  } catch {
    return trimmed;
  }
}

export function normalizeEmail(text: string): string {
  return text.trim().toLowerCase();
}

export function normalizeHash(text: string): string {
  return text.trim().toLowerCase();
}

// ---------------------------------------------------------------------------
// Matching

/**
 * The observables (as given) that make the pattern match, each once, in
 * the order found; empty when it does not match.
 */
export function matchStixPattern(
  pattern: ParsedPattern,
  observables: PreparedObservables,
): string[] {
  const found = new Set<string>();
  for (const observation of pattern.observations) {
    for (const text of evaluate(observation, observables, undefined)) found.add(text);
  }
  return [...found];
}

/** One value every comparison on its pool is evaluated against (same-object AND). */
interface Binding {
  readonly pool: ObservablePool;
  readonly candidate: IpCandidate | ValueCandidate;
}

function evaluate(
  node: ComparisonNode,
  observables: PreparedObservables,
  binding: Binding | undefined,
): string[] {
  if (node.kind === 'test') {
    const candidates: readonly (IpCandidate | ValueCandidate)[] =
      binding !== undefined && binding.pool === node.pool
        ? [binding.candidate]
        : observables[node.pool];
    return candidates.filter((candidate) => holds(node, candidate)).map(({ text }) => text);
  }
  if (node.kind === 'or') {
    return [...new Set(node.children.flatMap((child) => evaluate(child, observables, binding)))];
  }
  const pool = node.pool;
  if (binding === undefined && pool !== undefined && pool !== 'hash') {
    const candidates: readonly (IpCandidate | ValueCandidate)[] = observables[pool];
    return candidates
      .filter((candidate) =>
        node.children.every(
          (child) => evaluate(child, observables, { pool, candidate }).length > 0,
        ),
      )
      .map(({ text }) => text);
  }
  const parts = node.children.map((child) => evaluate(child, observables, binding));
  return parts.every((part) => part.length > 0) ? [...new Set(parts.flat())] : [];
}

function holds(test: IpTest | ValueTest, candidate: IpCandidate | ValueCandidate): boolean {
  if (test.pool === 'ip') {
    if (!('range' in candidate)) return false;
    const observed = candidate.range;
    return test.ranges.some((range) =>
      test.operator === 'equals' ? sameRange(observed, range) : withinRange(observed, range),
    );
  }
  return 'key' in candidate && test.values.has(candidate.key);
}

function sameRange(a: CidrRange, b: CidrRange): boolean {
  return a.version === b.version && a.prefix === b.prefix && a.network === b.network;
}

/** `inner` (an address or a range) lies entirely inside `outer`. */
function withinRange(inner: CidrRange, outer: CidrRange): boolean {
  return (
    inner.version === outer.version &&
    inner.prefix >= outer.prefix &&
    (inner.network & outer.mask) === outer.network
  );
}

// ---------------------------------------------------------------------------
// Tokens

class PatternProblem extends Error {
  constructor(
    readonly kind: 'unsupported' | 'invalid',
    message: string,
  ) {
    super(message);
  }
}

const unsupported = (reason: string): PatternProblem => new PatternProblem('unsupported', reason);
const invalid = (reason: string): PatternProblem => new PatternProblem('invalid', reason);

type Token =
  | { readonly kind: 'punct'; readonly value: '[' | ']' | '(' | ')' | ',' }
  | { readonly kind: 'operator'; readonly value: string }
  /** A keyword, upper case. */
  | { readonly kind: 'word'; readonly value: string }
  | {
      readonly kind: 'path';
      readonly objectType: string;
      readonly properties: readonly string[];
      readonly text: string;
    }
  | { readonly kind: 'string'; readonly value: string }
  /** Numbers, booleans, t'…' timestamps, h'…' hex and b'…' binary: never what we compare. */
  | { readonly kind: 'literal'; readonly text: string }
  | { readonly kind: 'end' };

const KEYWORDS = new Set([
  'AND',
  'OR',
  'NOT',
  'IN',
  'LIKE',
  'MATCHES',
  'ISSUBSET',
  'ISSUPERSET',
  'EXISTS',
  'FOLLOWEDBY',
  'WITHIN',
  'SECONDS',
  'START',
  'STOP',
  'REPEATS',
  'TIMES',
]);

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  const readQuoted = (): string => {
    // STIX string literals escape only \' and \\.
    let value = '';
    at += 1;
    for (;;) {
      const char = text[at];
      if (char === undefined) throw invalid('a string literal is not closed');
      if (char === "'") {
        at += 1;
        return value;
      }
      if (char === '\\') {
        const next = text[at + 1];
        if (next !== "'" && next !== '\\') throw invalid('a string literal has an invalid escape');
        value += next;
        at += 2;
        continue;
      }
      value += char;
      at += 1;
    }
  };
  const readWhile = (pattern: RegExp): string => {
    const start = at;
    while (at < text.length && pattern.test(text[at] ?? '')) at += 1;
    return text.slice(start, at);
  };

  while (at < text.length) {
    const char = text[at] ?? '';
    if (/\s/.test(char)) {
      at += 1;
    } else if ('[](),'.includes(char)) {
      tokens.push({ kind: 'punct', value: char as '[' | ']' | '(' | ')' | ',' });
      at += 1;
    } else if ('=!<>'.includes(char)) {
      const two = text.slice(at, at + 2);
      const operator = ['!=', '<=', '>='].includes(two) ? two : char;
      if (operator === '!') throw invalid('"!" must be followed by "="');
      tokens.push({ kind: 'operator', value: operator });
      at += operator.length;
    } else if (char === "'") {
      tokens.push({ kind: 'string', value: readQuoted() });
    } else if (/[-+\d]/.test(char)) {
      const number = readWhile(/[-+\d.eE]/);
      if (!/^[-+]?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(number)) {
        throw invalid(`"${number}" is not a number`);
      }
      tokens.push({ kind: 'literal', text: number });
    } else if (/[A-Za-z_]/.test(char)) {
      const start = at;
      const word = readWhile(/[A-Za-z0-9_-]/);
      if (text[at] === ':') {
        tokens.push(readPath(word, start));
      } else if (/^[thb]$/.test(word) && text[at] === "'") {
        readQuoted();
        tokens.push({ kind: 'literal', text: text.slice(start, at) });
      } else if (/^(true|false)$/i.test(word)) {
        tokens.push({ kind: 'literal', text: word });
      } else if (KEYWORDS.has(word.toUpperCase())) {
        tokens.push({ kind: 'word', value: word.toUpperCase() });
      } else {
        throw invalid(`unexpected "${word}"`);
      }
    } else {
      throw invalid(`unexpected "${char}"`);
    }
  }
  tokens.push({ kind: 'end' });
  return tokens;

  /** `file:hashes.'SHA-256'`, `network-traffic:extensions.'x'.list[0]` */
  function readPath(objectType: string, start: number): Token {
    at += 1;
    const first = readWhile(/[A-Za-z0-9_]/);
    if (first === '') throw invalid(`"${objectType}:" must be followed by a property name`);
    const properties = [first];
    for (;;) {
      if (text[at] === '.') {
        at += 1;
        const property = text[at] === "'" ? readQuoted() : readWhile(/[A-Za-z0-9_]/);
        if (property === '') throw invalid(`a "." in ${text.slice(start, at)} has no property`);
        properties.push(property);
      } else if (text[at] === '[' && /^\[(\d+|\*)\]/.test(text.slice(at))) {
        const index = /^\[(\d+|\*)\]/.exec(text.slice(at))?.[0] ?? '';
        properties.push(index);
        at += index.length;
      } else {
        break;
      }
    }
    return { kind: 'path', objectType, properties, text: text.slice(start, at) };
  }
}

// ---------------------------------------------------------------------------
// Grammar (STIX 2.1 patterning, section 9): precedence from loosest to
// tightest is FOLLOWEDBY, OR, AND between observations; OR, AND inside one.

type Literal = { kind: 'string'; value: string } | { kind: 'literal'; text: string };

class Parser {
  private index = 0;
  private depth = 0;

  constructor(private readonly tokens: readonly Token[]) {}

  parsePattern(): ParsedPattern {
    const observations = this.observationOr();
    this.expectEnd();
    return { observations };
  }

  private observationOr(): ComparisonNode[] {
    const observations = this.observationAnd();
    while (this.takeWord('OR')) observations.push(...this.observationAnd());
    return observations;
  }

  private observationAnd(): ComparisonNode[] {
    const observations = this.qualifiedObservation();
    if (this.peekWord('AND')) throw unsupported('AND between observations');
    return observations;
  }

  private qualifiedObservation(): ComparisonNode[] {
    const observations = this.observation();
    for (const qualifier of ['WITHIN', 'START', 'REPEATS']) {
      if (this.peekWord(qualifier)) throw unsupported(`the ${qualifier} qualifier`);
    }
    return observations;
  }

  private observation(): ComparisonNode[] {
    if (this.takePunct('[')) {
      const expression = this.nested(() => this.comparisonOr());
      this.expectPunct(']');
      return [expression];
    }
    if (this.takePunct('(')) {
      const observations = this.nested(() => this.observationOr());
      this.expectPunct(')');
      return observations;
    }
    throw this.unexpected('an observation [ … ]');
  }

  private comparisonOr(): ComparisonNode {
    const children = [this.comparisonAnd()];
    while (this.takeWord('OR')) children.push(this.comparisonAnd());
    return junction('or', children);
  }

  private comparisonAnd(): ComparisonNode {
    const children = [this.comparison()];
    while (this.takeWord('AND')) children.push(this.comparison());
    return junction('and', children);
  }

  private comparison(): ComparisonNode {
    if (this.takePunct('(')) {
      const expression = this.nested(() => this.comparisonOr());
      this.expectPunct(')');
      return expression;
    }
    if (this.peekWord('EXISTS')) throw unsupported('EXISTS');
    const token = this.peek();
    if (token.kind !== 'path') throw this.unexpected('an object path such as ipv4-addr:value');
    this.index += 1;
    if (this.peekWord('NOT')) throw unsupported('NOT');
    const operator = this.peek();
    this.index += 1;
    if (operator.kind === 'operator') {
      if (operator.value !== '=') throw unsupported(`the ${operator.value} operator`);
      return comparisonTest(token, 'equals', [this.literal()]);
    }
    if (operator.kind === 'word') {
      if (operator.value === 'IN') return comparisonTest(token, 'equals', this.set());
      if (operator.value === 'ISSUBSET') return comparisonTest(token, 'subset', [this.literal()]);
      if (['LIKE', 'MATCHES', 'ISSUPERSET'].includes(operator.value)) {
        throw unsupported(`the ${operator.value} operator`);
      }
    }
    this.index -= 1;
    throw this.unexpected(`a comparison operator after ${token.text}`);
  }

  private set(): Literal[] {
    this.expectPunct('(');
    const values = [this.literal()];
    while (this.takePunct(',')) values.push(this.literal());
    this.expectPunct(')');
    return values;
  }

  private literal(): Literal {
    const token = this.peek();
    if (token.kind === 'string' || token.kind === 'literal') {
      this.index += 1;
      return token;
    }
    throw this.unexpected('a value');
  }

  private nested<T>(parse: () => T): T {
    this.depth += 1;
    if (this.depth > MAX_DEPTH) throw invalid(`nested deeper than ${MAX_DEPTH} levels`);
    try {
      return parse();
    } finally {
      this.depth -= 1;
    }
  }

  private peek(): Token {
    return this.tokens[this.index] ?? { kind: 'end' };
  }

  private peekWord(word: string): boolean {
    const token = this.peek();
    return token.kind === 'word' && token.value === word;
  }

  private takeWord(word: string): boolean {
    if (!this.peekWord(word)) return false;
    this.index += 1;
    return true;
  }

  private takePunct(value: string): boolean {
    const token = this.peek();
    if (token.kind !== 'punct' || token.value !== value) return false;
    this.index += 1;
    return true;
  }

  private expectPunct(value: string): void {
    if (!this.takePunct(value)) throw this.unexpected(`"${value}"`);
  }

  private expectEnd(): void {
    if (this.peek().kind !== 'end') throw this.unexpected('the end of the pattern');
  }

  /** FOLLOWEDBY can appear wherever an expression may end: it is valid STIX, just not ours. */
  private unexpected(expected: string): PatternProblem {
    const token = this.peek();
    if (token.kind === 'word' && token.value === 'FOLLOWEDBY') return unsupported('FOLLOWEDBY');
    return invalid(`expected ${expected}, found ${describeToken(token)}`);
  }
}

function describeToken(token: Token): string {
  switch (token.kind) {
    case 'end':
      return 'the end';
    case 'path':
      return token.text;
    case 'string':
      return 'a string';
    case 'literal':
      return token.text;
    default:
      return `"${token.value}"`;
  }
}

function junction(kind: 'and' | 'or', children: ComparisonNode[]): ComparisonNode {
  const [only] = children;
  if (children.length === 1 && only !== undefined) return only;
  const pools = new Set(children.map((child) => child.pool));
  const [pool] = pools;
  return { kind, children, pool: pools.size === 1 ? pool : undefined };
}

// ---------------------------------------------------------------------------
// Supported comparisons

const HASH_LENGTHS: Readonly<Record<string, number>> = {
  MD5: 32,
  SHA1: 40,
  SHA256: 64,
  SHA512: 128,
};

const VALUE_POOLS: Readonly<Record<string, ValueTest['pool']>> = {
  'domain-name': 'domain',
  url: 'url',
  'email-addr': 'email',
};

const NORMALIZE: Readonly<Record<ValueTest['pool'], (text: string) => string>> = {
  domain: normalizeDomain,
  url: normalizeUrl,
  email: normalizeEmail,
  hash: normalizeHash,
};

function comparisonTest(
  path: Extract<Token, { kind: 'path' }>,
  operator: 'equals' | 'subset',
  literals: readonly Literal[],
): ComparisonNode {
  const [property, subProperty, ...rest] = path.properties;
  const strings = literals.map((literal) => {
    if (literal.kind !== 'string') {
      throw invalid(`${path.text} is compared with ${literal.text}, which is not a string`);
    }
    return literal.value;
  });

  const ipVersion =
    path.objectType === 'ipv4-addr' ? 4 : path.objectType === 'ipv6-addr' ? 6 : undefined;
  if (ipVersion !== undefined && property === 'value' && subProperty === undefined) {
    const ranges = strings.map((text) => {
      const range = parseCidr(text.trim());
      if (range === undefined || range.version !== ipVersion) {
        throw invalid(`${path.text} is compared with "${text}", not an IPv${ipVersion} address`);
      }
      return range;
    });
    return { kind: 'test', pool: 'ip', path: path.text, operator, ranges };
  }

  let pool: ValueTest['pool'] | undefined;
  let hashLength: number | undefined;
  if (path.objectType === 'file' && property === 'hashes' && subProperty !== undefined) {
    hashLength =
      rest.length === 0 ? HASH_LENGTHS[subProperty.toUpperCase().replace(/-/g, '')] : undefined;
    if (hashLength !== undefined) pool = 'hash';
  } else if (property === 'value' && subProperty === undefined) {
    pool = VALUE_POOLS[path.objectType];
  }
  if (pool === undefined) throw unsupported(`${path.text} is not a supported object path`);
  if (operator === 'subset') throw unsupported(`ISSUBSET on ${path.text}`);
  if (hashLength !== undefined) {
    for (const text of strings) {
      if (!new RegExp(`^[0-9a-fA-F]{${hashLength}}$`).test(text.trim())) {
        throw invalid(`${path.text} is compared with a value that is not such a hash`);
      }
    }
  }
  const normalize = NORMALIZE[pool];
  return {
    kind: 'test',
    pool,
    path: path.text,
    operator: 'equals',
    values: new Set(strings.map((text) => normalize(text))),
  };
}
