import type { AlertDraft, AlertType, SeverityId } from '../core/alert.js';
import { atlasTechniquesFor } from '../core/atlas.js';
import { invalidField, missingField } from '../core/errors.js';
import { isJsonObject } from './json-object.js';
import type { JsonObject } from './json-object.js';
import { sourceContextObservables } from './source-context.js';
import type { SourceContext, SourceFormat } from './source-format.js';
import { epochMsOf } from './time-field.js';
import { arrayAt, seenTimes, textAt } from './vendor-fields.js';

/**
 * NVIDIA NeMo Guardrails generation responses with the activated-rails log:
 * the Python `GenerationResponse` (`response`, `log`, …) or the server's
 * `/v1/chat/completions` answer (`messages`, `log`), when the caller asked for
 * `options.log.activated_rails`. `log.activated_rails[]` lists each rail that
 * ran: `type` (input, dialog, retrieval, generation, output), `name` (`self
 * check input`, `jailbreak detection heuristics`, …), `decisions`,
 * `executed_actions`, `stop`, `started_at` / `finished_at` (epoch seconds).
 * The request (`config_id`, `messages`, `options`) is not a verdict and is not
 * claimed. The response names no model, session or user: those come from the
 * sender context.
 */

const WHERE = 'NeMo Guardrails response';
const FORMAT = 'nemo-guardrails';
const RAILS_FIELD = 'log.activated_rails';

/** What a rail that blocked means to Warden. */
export interface NemoRailMapping {
  type: AlertType;
  /** ATLAS ids the rail implies; empty means "the alert type's defaults". */
  atlasTechniques: readonly string[];
  severityId: SeverityId;
}

const JAILBREAK = /\bjailbr(?:eak|oken)/;
const INJECTION = /\binject|\bprompt attack/;
/** A decision that refuses: `refuse to respond`, `bot refuse to respond`, `execute bot refuse`. */
const REFUSAL = /\brefuse\b/i;

/**
 * Maps a rail that blocked. Output rails read as a policy violation (Medium).
 * Other rails read by keywords in their name: `jailbreak` → `jailbreak`
 * (AML.T0054), `inject` or `prompt attack` → `prompt_injection` (direct on an
 * input rail, indirect on a retrieval rail), both High like a Prompt Shields
 * attack; any other rail (`self check input`, a topical dialog rail) is
 * `other` at Medium: NeMo refused, but does not say what the prompt was.
 */
export function classifyNemoRail(railType: string, name: string): NemoRailMapping {
  if (railType === 'output') {
    return { type: 'output_policy_violation', atlasTechniques: [], severityId: 3 };
  }
  const words = name.toLowerCase();
  if (JAILBREAK.test(words)) return { type: 'jailbreak', atlasTechniques: [], severityId: 4 };
  if (INJECTION.test(words)) {
    const technique =
      railType === 'input' ? ['AML.T0051.000'] : railType === 'retrieval' ? ['AML.T0051.001'] : [];
    return { type: 'prompt_injection', atlasTechniques: technique, severityId: 4 };
  }
  return { type: 'other', atlasTechniques: [], severityId: 3 };
}

interface BlockingRail {
  type: string;
  name: string;
  decisions: string[];
  startedAt: number | undefined;
  finishedAt: number | undefined;
}

/** A rail blocked when it stopped the flow or one of its decisions refused. */
function blocked(rail: JsonObject, decisions: readonly string[]): boolean {
  return rail.stop === true || decisions.some((d) => d === 'stop' || REFUSAL.test(d));
}

function readRails(payload: JsonObject): unknown[] {
  const log = payload.log;
  if (log === undefined || log === null) throw missingField('log', WHERE);
  if (!isJsonObject(log)) throw invalidField('log', 'must be an object', WHERE);
  const rails = log.activated_rails;
  if (rails === undefined || rails === null) throw missingField(RAILS_FIELD, WHERE);
  if (!Array.isArray(rails)) throw invalidField(RAILS_FIELD, 'must be an array', WHERE);
  return rails;
}

function blockingRails(rails: readonly unknown[]): BlockingRail[] {
  return rails.flatMap((item, index): BlockingRail[] => {
    if (!isJsonObject(item))
      throw invalidField(`${RAILS_FIELD}[${index}]`, 'must be an object', WHERE);
    const decisions = arrayAt(item.decisions).flatMap((d) => {
      const text = textAt(d);
      return text === undefined ? [] : [text];
    });
    if (!blocked(item, decisions)) return [];
    return [
      {
        type: textAt(item.type) ?? 'unknown',
        name: textAt(item.name) ?? 'unnamed rail',
        decisions,
        startedAt: epochMsOf(item.started_at),
        finishedAt: epochMsOf(item.finished_at),
      },
    ];
  });
}

function earliest(values: readonly (number | undefined)[]): number | undefined {
  const present = values.filter((v): v is number => v !== undefined);
  return present.length > 0 ? Math.min(...present) : undefined;
}

function latest(values: readonly (number | undefined)[]): number | undefined {
  const present = values.filter((v): v is number => v !== undefined);
  return present.length > 0 ? Math.max(...present) : undefined;
}

export function normalizeNemoGuardrailsResponse(
  payload: unknown,
  context?: SourceContext,
): AlertDraft {
  if (!isJsonObject(payload)) throw invalidField('(root)', 'must be a JSON object', WHERE);
  const rails = blockingRails(readRails(payload));
  if (rails.length === 0) {
    throw invalidField(
      RAILS_FIELD,
      'has no rail that stopped or refused to respond: nothing to alert on',
      WHERE,
    );
  }
  const mappings = rails.map((rail) => classifyNemoRail(rail.type, rail.name));
  // The first blocking rail that maps to a Warden type names the alert.
  const type = mappings.find((m) => m.type !== 'other')?.type ?? 'other';
  const techniques = mappings.filter((m) => m.type === type).flatMap((m) => m.atlasTechniques);
  const severityId = mappings.reduce<SeverityId>(
    (max, m) => (m.severityId > max ? m.severityId : max),
    1,
  );
  // The rails' own times (epoch seconds) when they carry them, else the time of receipt.
  const { firstSeen, lastSeen } = seenTimes(
    earliest(rails.map((r) => r.startedAt)),
    latest(rails.map((r) => r.finishedAt)),
  );
  const labels = [...new Set(rails.map((r) => `${r.name} (${r.type})`))];

  return {
    source: { format: FORMAT, product: 'NeMo Guardrails', vendor: 'NVIDIA' },
    type,
    title: `NeMo Guardrails blocked: ${labels.join(', ')}`,
    description: `Decisions: ${rails
      .map((r) => `${r.name}: ${r.decisions.length > 0 ? r.decisions.join(', ') : 'stop'}`)
      .join('; ')}`,
    severityId,
    firstSeen,
    lastSeen,
    count: 1,
    observables: sourceContextObservables(context),
    atlasTechniques: atlasTechniquesFor(type, techniques),
    raw: payload,
  };
}

export const nemoGuardrailsFormat: SourceFormat = {
  name: FORMAT,
  description: 'NeMo Guardrails generation response with log.activated_rails',
  detect: (payload) =>
    isJsonObject(payload) &&
    isJsonObject(payload.log) &&
    Array.isArray(payload.log.activated_rails),
  normalize: normalizeNemoGuardrailsResponse,
};
