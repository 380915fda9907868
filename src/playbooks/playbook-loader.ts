import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { WardenError } from '../core/errors.js';
import { suggestion } from './did-you-mean.js';
import {
  compilePlaybookFile,
  hasInputType,
  inputTypeName,
  type CompileOptions,
  type CompiledFile,
} from './playbook-compiler.js';
import { describeValue, formatProblem, type PlaybookProblem } from './playbook-document.js';
import type { Playbook, PlaybookTest } from './playbook.js';

export { formatProblem, type PlaybookProblem } from './playbook-document.js';

/**
 * Loads the playbooks of a config directory: every `*.yaml` / `*.yml` file
 * in `playbooks/`, each compiled (see playbook-compiler.ts), then checked
 * together: ids unique, `playbook:` steps name an existing playbook with
 * inputs it declares, and sub-playbook calls form no cycle. All problems of
 * all files are collected and thrown as one `invalid_playbook` error whose
 * message has one `file:line:col: field: problem` line per problem and whose
 * `details.errors` holds them as {@link PlaybookProblem}s.
 */

/** One playbook file's text. */
export interface PlaybookSource {
  /** The file name as it should appear in messages. */
  readonly file: string;
  readonly text: string;
  /** Tests kept beside the playbook, in `<name>.tests.yaml`: a file holding only `tests:`. */
  readonly tests?: { readonly file: string; readonly text: string };
}

export interface PlaybookCheck {
  /** The playbooks of the files without problems, in file order; deeply frozen. */
  readonly playbooks: readonly Playbook[];
  /** Every problem, by file then position. */
  readonly problems: readonly PlaybookProblem[];
}

const PLAYBOOK_FILE = /\.ya?ml$/i;
const TESTS_FILE = /\.tests\.ya?ml$/i;

/**
 * The playbooks in `dir` (not recursive), in file-name order. A missing
 * directory has none. Throws `invalid_playbook` listing every problem.
 */
export function loadPlaybooks(dir: string): readonly Playbook[] {
  return compilePlaybooks(readPlaybookSources(dir), { fileExists });
}

/**
 * The `*.yaml` / `*.yml` files of `dir`, sorted by name, each with its
 * `<name>.tests.yaml` when there is one; none when `dir` does not exist.
 */
export function readPlaybookSources(dir: string): PlaybookSource[] {
  const stat = statSync(dir, { throwIfNoEntry: false });
  if (!stat) return [];
  if (!stat.isDirectory()) {
    throw new WardenError('invalid_playbook', `${dir}: not a directory`);
  }
  const read = (name: string): { file: string; text: string } => {
    const file = join(dir, name);
    try {
      return { file, text: readFileSync(file, 'utf8') };
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new WardenError('invalid_playbook', `${file}: cannot read: ${reason}`, {
        cause: error,
      });
    }
  };
  const names = readdirSync(dir)
    .filter((name) => PLAYBOOK_FILE.test(name))
    .sort();
  const testFiles = new Set(names.filter((name) => TESTS_FILE.test(name)));
  const sources = names
    .filter((name) => !testFiles.has(name))
    .map((name) => {
      const base = name.replace(PLAYBOOK_FILE, '');
      const tests = [`${base}.tests.yaml`, `${base}.tests.yml`].find((t) => testFiles.has(t));
      if (tests) testFiles.delete(tests);
      return { ...read(name), ...(tests ? { tests: read(tests) } : {}) };
    });
  for (const orphan of testFiles) {
    throw new WardenError(
      'invalid_playbook',
      `${join(dir, orphan)}: there is no ${orphan.replace(TESTS_FILE, '.yaml')} beside it for these tests`,
    );
  }
  return sources;
}

/** Like {@link checkPlaybooks}, but throws `invalid_playbook` when there is any problem. */
export function compilePlaybooks(
  sources: readonly PlaybookSource[],
  options: CompileOptions = {},
): readonly Playbook[] {
  const { playbooks, problems } = checkPlaybooks(sources, options);
  if (problems.length > 0) throw invalidPlaybooks(problems);
  return playbooks;
}

/**
 * One playbook file on its own (pure). References to other playbooks
 * (`playbook:` steps) are not resolved; `loadPlaybooks` does that.
 */
export function parsePlaybook(text: string, file: string, options: CompileOptions = {}): Playbook {
  const compiled = compilePlaybookFile(file, text, options);
  if (compiled.playbook === undefined) throw invalidPlaybooks(compiled.document.problems);
  return deepFreeze(compiled.playbook);
}

/** Compiles and cross-checks without throwing: for `warden playbook validate`. */
export function checkPlaybooks(
  sources: readonly PlaybookSource[],
  options: CompileOptions = {},
): PlaybookCheck {
  const files = sources.map((source) => compileWithTests(source, options));
  checkUniqueIds(files);
  checkCalls(files);
  checkCycles(files);
  const problems = files.flatMap((file) =>
    [...file.document.problems].sort((a, b) => a.line - b.line || a.column - b.column),
  );
  const playbooks = files
    .filter((file) => file.document.problems.length === 0 && file.playbook !== undefined)
    .map((file) => deepFreeze(file.playbook as Playbook));
  return { playbooks: Object.freeze(playbooks), problems: Object.freeze(problems) };
}

/**
 * A playbook and the tests beside it, compiled as one document (the tests
 * file holds the `tests:` key the playbook leaves out), with every position
 * in the appended part pointed back at the tests file.
 */
function compileWithTests(source: PlaybookSource, options: CompileOptions): CompiledFile {
  if (!source.tests) return compilePlaybookFile(source.file, source.text, options);
  const tests = source.tests;
  const base = source.text.endsWith('\n') ? source.text : `${source.text}\n`;
  const offset = base.split('\n').length - 1;
  const compiled = compilePlaybookFile(source.file, base + tests.text, options);
  const relocate = <T extends { file: string; line: number }>(at: T): T =>
    at.line > offset ? { ...at, file: tests.file, line: at.line - offset } : at;
  const problems = compiled.document.problems;
  problems.splice(0, problems.length, ...problems.map(relocate));
  if (/^tests\s*:/m.test(source.text)) {
    problems.push({
      file: tests.file,
      line: 1,
      column: 1,
      path: 'tests',
      message: `${source.file} has tests of its own; keep them in one place`,
    });
  }
  const playbook = compiled.playbook as { tests: PlaybookTest[] } | undefined;
  if (playbook) playbook.tests = playbook.tests.map((t) => ({ ...t, source: relocate(t.source) }));
  return compiled;
}

/** The problems an `invalid_playbook` error carries. */
export function playbookProblemsOf(error: unknown): readonly PlaybookProblem[] {
  if (!(error instanceof WardenError) || error.code !== 'invalid_playbook') return [];
  const errors = error.details?.errors;
  return Array.isArray(errors) ? (errors as PlaybookProblem[]) : [];
}

function invalidPlaybooks(problems: readonly PlaybookProblem[]): WardenError {
  return new WardenError('invalid_playbook', problems.map(formatProblem).join('\n'), {
    details: { errors: problems.map((problem) => ({ ...problem })) },
  });
}

function fileExists(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
}

// ---------------------------------------------------------------------------
// Checks across files

function checkUniqueIds(files: readonly CompiledFile[]): void {
  const first = new Map<string, CompiledFile>();
  for (const file of files) {
    if (file.id === undefined) continue;
    const earlier = first.get(file.id);
    if (earlier === undefined) {
      first.set(file.id, file);
      continue;
    }
    const where = earlier.document.positionOf(['id']);
    file.document.report(
      ['id'],
      `playbook id "${file.id}" is already used in ${where.file}:${where.line}:${where.column}`,
    );
  }
}

function checkCalls(files: readonly CompiledFile[]): void {
  // Ids of files with problems count as known, so that one broken file does
  // not also make every caller of it fail with "unknown playbook".
  const known = [...new Set(files.map((file) => file.id).filter((id) => id !== undefined))];
  const byId = new Map<string, Playbook>();
  for (const file of files) {
    // The first file with an id wins; later ones are reported as duplicates.
    if (file.id !== undefined && !byId.has(file.id) && file.playbook)
      byId.set(file.id, file.playbook);
  }
  for (const file of files) {
    for (const call of file.calls) {
      const at = ['steps', call.stepIndex, 'playbook'];
      if (!known.includes(call.target)) {
        file.document.report(
          [...at, 'id'],
          `unknown playbook "${call.target}"${suggestion(call.target, known)} ` +
            `(known: ${known.length > 0 ? known.join(', ') : 'none'})`,
        );
        continue;
      }
      const callee = byId.get(call.target);
      if (callee === undefined) continue;
      const names = callee.inputs.map((input) => input.name);
      for (const [name, value] of Object.entries(call.input)) {
        const input = callee.inputs.find((i) => i.name === name);
        if (input === undefined) {
          file.document.report(
            [...at, 'input', name],
            `playbook "${callee.id}" has no input "${name}"${suggestion(name, names)} ` +
              `(inputs: ${names.length > 0 ? names.join(', ') : 'none'})`,
            'key',
          );
        } else if (!isTemplated(value) && !hasInputType(value, input.type)) {
          file.document.report(
            [...at, 'input', name],
            `input "${name}" of playbook "${callee.id}" must be ${inputTypeName(input.type)} ` +
              `(got ${describeValue(value)})`,
          );
        }
      }
      for (const input of callee.inputs) {
        if (input.required && !(input.name in call.input)) {
          file.document.report(
            at,
            `playbook "${callee.id}" requires input "${input.name}" (${input.type})`,
          );
        }
      }
    }
  }
}

/** A value containing `${{` anywhere is only known at run time. */
function isTemplated(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('${{');
  if (Array.isArray(value)) return value.some(isTemplated);
  if (typeof value === 'object' && value !== null) return Object.values(value).some(isTemplated);
  return false;
}

/** Sub-playbook calls must not loop: a run would never end. */
function checkCycles(files: readonly CompiledFile[]): void {
  const byId = new Map<string, CompiledFile>();
  for (const file of files) {
    if (file.id !== undefined && !byId.has(file.id)) byId.set(file.id, file);
  }
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const reported = new Set<string>();

  const visit = (id: string): void => {
    state.set(id, 'visiting');
    stack.push(id);
    const file = byId.get(id);
    for (const call of file?.calls ?? []) {
      const mark = state.get(call.target);
      if (mark === 'visiting') {
        const cycle = [...stack.slice(stack.indexOf(call.target)), call.target];
        const key = [...new Set(cycle)].sort().join(' ');
        if (!reported.has(key) && file) {
          reported.add(key);
          file.document.report(
            ['steps', call.stepIndex, 'playbook', 'id'],
            `sub-playbook calls form a cycle: ${cycle.join(' → ')}`,
          );
        }
      } else if (mark === undefined && byId.has(call.target)) {
        visit(call.target);
      }
    }
    stack.pop();
    state.set(id, 'done');
  };
  for (const id of byId.keys()) if (!state.has(id)) visit(id);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
