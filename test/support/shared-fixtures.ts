import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * The ../shared folder a development checkout sits next to (vendor payload
 * fixtures, the public ATLAS data): the conformance suites read it in place,
 * never copying from it, and skip when it is absent, as in a user's clone.
 *
 * @example
 * const fixtures = sharedFixtures('mlflow conformance suite');
 * describe.skipIf(!fixtures.present)('mlflow fixtures conformance', () => {
 *   it('reads …', () => { const payload = fixtures.json('mlflow_error_response.json'); … });
 * });
 */

/** The repository's ../shared folder. */
export const SHARED_DIR = resolve(import.meta.dirname, '../../../shared');

export interface SharedResource {
  /** The absolute path, e.g. `/…/shared/atlas/ATLAS.yaml`. */
  readonly path: string;
  /** False when it is absent; the suite that needs it skips. */
  readonly present: boolean;
}

/**
 * `relative` (a file or folder under ../shared) for the suite `suite`; when
 * it is absent, says so on the console, as `<suite> skipped: ../shared/<relative>
 * is absent (looked in <path>)`, since the suite will skip.
 */
export function sharedResource(relative: string, suite: string): SharedResource {
  const path = join(SHARED_DIR, relative);
  const present = existsSync(path);
  if (!present) {
    console.info(`${suite} skipped: ../shared/${relative} is absent (looked in ${path})`);
  }
  return { path, present };
}

export interface SharedFixtures extends SharedResource {
  /** The absolute path of fixture `name`, e.g. `stix_indicator_ai_ioc.json`. */
  file(name: string): string;
  /** Fixture `name` as text. */
  text(name: string): string;
  /** Fixture `name` parsed as JSON (typed by the caller: nothing is checked). */
  json<T = unknown>(name: string): T;
}

/** ../shared/fixtures for the suite `suite` (see `sharedResource` for the skip). */
export function sharedFixtures(suite: string): SharedFixtures {
  const { path, present } = sharedResource('fixtures', suite);
  const file = (name: string): string => join(path, name);
  const text = (name: string): string => readFileSync(file(name), 'utf8');
  return { path, present, file, text, json: <T>(name: string) => JSON.parse(text(name)) as T };
}
