import type { AlertFacts } from '../core/alert.js';
import type { Case } from '../core/case.js';
import { routeAlert, type PlaybookRouter } from '../core/playbook-router.js';
import type { Playbook } from './playbook.js';

/** A playbook to start for a new case, and why. */
export interface RunTrigger {
  playbookId: string;
  reason: string;
}

/** Why a new case starts no playbook (for the case timeline). */
export interface NoTrigger {
  reason: string;
}

/**
 * Which playbooks a new case starts. With a router (routes or a default),
 * the router picks one playbook and that playbook's own trigger must also
 * accept the alert; without one, every playbook whose trigger accepts it
 * starts. Pure: the same alert and case always give the same answer.
 */
export function triggersForNewCase(
  alert: AlertFacts,
  c: Case,
  router: PlaybookRouter,
  playbooks: ReadonlyMap<string, Playbook>,
): RunTrigger[] | NoTrigger {
  const routed = router.routes.length > 0 || router.defaultPlaybook !== undefined;
  if (!routed) {
    const matching = [...playbooks.values()].filter(
      (p) => p.trigger.on === 'new_case' && accepts(p, alert, c),
    );
    if (matching.length === 0) return { reason: 'no playbook’s trigger matches the alert' };
    return matching.map((p) => ({ playbookId: p.id, reason: 'its trigger matches the alert' }));
  }
  const routing = routeAlert(alert, router);
  if (routing.playbookId === undefined) return { reason: routing.reason };
  const playbook = playbooks.get(routing.playbookId);
  if (!playbook) {
    return { reason: `the router chose playbook ${routing.playbookId}, which is not loaded` };
  }
  if (playbook.trigger.on !== 'new_case') {
    return {
      reason: `the router chose ${playbook.id} (${routing.reason}), which starts on ${playbook.trigger.on}, not on a new case`,
    };
  }
  if (!accepts(playbook, alert, c)) {
    return {
      reason: `the router chose ${playbook.id} (${routing.reason}), but its trigger does not accept the alert`,
    };
  }
  return [{ playbookId: playbook.id, reason: routing.reason }];
}

/**
 * Which playbooks a closing case starts: every playbook on `case_closed`
 * whose types include one of the case's alert types (or that names none)
 * and whose `when` holds for the case (closed) and `alert`, the alert that
 * opened it. The router plays no part: closing is not a choice among
 * playbooks, each one that cares (the page, the ticket) acts.
 */
export function triggersForClosedCase(
  alert: AlertFacts,
  c: Case,
  playbooks: ReadonlyMap<string, Playbook>,
): RunTrigger[] {
  return [...playbooks.values()]
    .filter((p) => p.trigger.on === 'case_closed' && accepts(p, alert, c, c.alertTypes))
    .map((p) => ({
      playbookId: p.id,
      reason: `case #${c.number} closed (${c.closureReason ?? 'no reason'})`,
    }));
}

function accepts(
  playbook: Playbook,
  alert: AlertFacts,
  c: Case,
  typesPresent: readonly string[] = [alert.type],
): boolean {
  const { types, when } = playbook.trigger;
  if (types.length > 0 && !typesPresent.some((t) => (types as readonly string[]).includes(t))) {
    return false;
  }
  if (!when) return true;
  try {
    // Trigger conditions see the alert and the case only.
    // Not a spread: a spread copy of a parsed alert is slow to make and to read.
    return when.evaluateBoolean({ alert: Object.assign({}, alert, { raw: null }), case: c });
  } catch {
    return false;
  }
}
