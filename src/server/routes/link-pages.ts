import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Principal } from '../../core/access.js';
import { requirePermission } from '../../core/access.js';
import { WardenError } from '../../core/errors.js';
import type { AccessTokens } from '../../pipeline/access-tokens.js';
import type { ApprovalWorkflow } from '../../pipeline/approval-workflow.js';
import type { CaseWorkflow } from '../../pipeline/case-workflow.js';
import type { Store } from '../../store/store.js';

/**
 * The pages links from outside lead to: a Slack button's
 * `/approvals/:id?decision=approve`, a "View in Warden" `/cases/:id`. Plain
 * HTML forms without scripts: the page asks for the reader's API token, the
 * form posts it back, and the answer is rendered by the server. No cookie
 * is set, so another site cannot act with the reader's identity, and the
 * pages refuse to be framed. The full web UI is a separate piece of work.
 */

export interface LinkPageDeps {
  store: Store;
  tokens: AccessTokens;
  approvals: ApprovalWorkflow;
  cases: CaseWorkflow;
}

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
} as const;

function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Warden</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#1b1f24}
h1{font-size:1.4rem} label{display:block;margin:.8rem 0 .2rem;font-weight:600}
input[type=password],textarea{width:100%;box-sizing:border-box;padding:.4rem;font:inherit}
button{margin:.8rem .5rem 0 0;padding:.5rem 1.2rem;font:inherit;cursor:pointer}
.approve{background:#1a7f37;color:#fff;border:0}.deny{background:#cf222e;color:#fff;border:0}
.note{color:#57606a}.error{color:#cf222e;font-weight:600}dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{font-weight:600}
</style></head><body>${body}</body></html>`;
}

function send(reply: FastifyReply, status: number, title: string, body: string): FastifyReply {
  return reply
    .code(status)
    .headers(SECURITY_HEADERS)
    .type('text/html; charset=utf-8')
    .send(page(title, body));
}

const TOKEN_FIELD = `<label for="token">Your Warden API token</label>
<input type="password" id="token" name="token" autocomplete="off" required>
<p class="note">Used for this request only; not stored.</p>`;

function field(form: unknown, name: string): string | undefined {
  if (form === null || typeof form !== 'object') return undefined;
  const value = (form as Record<string, unknown>)[name];
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

async function principalOf(tokens: AccessTokens, form: unknown): Promise<Principal> {
  const token = field(form, 'token');
  if (token === undefined) throw new WardenError('unauthorized', 'enter your API token');
  return tokens.resolve(`Bearer ${token}`);
}

function problem(error: unknown): { status: number; message: string } {
  if (error instanceof WardenError) return { status: error.status, message: error.message };
  throw error;
}

export function linkPageRoutes(app: FastifyInstance, deps: LinkPageDeps): void {
  app.get<{ Params: { id: string }; Querystring: { decision?: string } }>(
    '/approvals/:id',
    (request, reply) => {
      const decision = request.query.decision === 'deny' ? 'deny' : 'approve';
      const id = escapeHtml(request.params.id);
      return send(
        reply,
        200,
        'Approval',
        `<h1>Answer approval request</h1>
<p class="note">Approval <code>${id}</code>. Warden checks that your role may answer it.</p>
<form method="post" action="/approvals/${encodeURIComponent(request.params.id)}">
${TOKEN_FIELD}
<label for="comment">Comment (optional)</label>
<textarea id="comment" name="comment" rows="2"></textarea>
<button class="approve" name="decision" value="approve"${decision === 'approve' ? ' autofocus' : ''}>Approve</button>
<button class="deny" name="decision" value="deny"${decision === 'deny' ? ' autofocus' : ''}>Deny</button>
</form>`,
      );
    },
  );

  app.post<{ Params: { id: string } }>('/approvals/:id', async (request, reply) => {
    const decision = field(request.body, 'decision');
    const comment = field(request.body, 'comment');
    try {
      if (decision !== 'approve' && decision !== 'deny') {
        throw new WardenError('invalid_field', 'choose Approve or Deny', { field: 'decision' });
      }
      const principal = await principalOf(deps.tokens, request.body);
      const answered = await deps.approvals.answer(principal, request.params.id, {
        approve: decision === 'approve',
        ...(comment === undefined ? {} : { comment }),
      });
      const c = await deps.store.getCase(answered.caseId);
      return send(
        reply,
        200,
        'Approval answered',
        `<h1>${answered.status === 'approved' ? 'Approved' : 'Denied'}</h1>
<dl><dt>Request</dt><dd>${escapeHtml(answered.message)}</dd>
<dt>Case</dt><dd>#${c?.number ?? '?'} ${escapeHtml(c?.title ?? '')}</dd>
<dt>By</dt><dd>${escapeHtml(principal.name)} (${principal.role})</dd></dl>
<p class="note">The playbook continues now; the answer is on the case timeline and in the audit log.</p>`,
      );
    } catch (error) {
      const { status, message } = problem(error);
      return send(
        reply,
        status,
        'Approval not answered',
        `<h1>Not answered</h1><p class="error">${escapeHtml(message)}</p>
<p><a href="/approvals/${encodeURIComponent(request.params.id)}">Try again</a></p>`,
      );
    }
  });

  app.get<{ Params: { id: string } }>('/cases/:id', (request, reply) =>
    send(
      reply,
      200,
      'Case',
      `<h1>Case ${escapeHtml(request.params.id)}</h1>
<form method="post" action="/cases/${encodeURIComponent(request.params.id)}">
${TOKEN_FIELD}
<button>Show the case</button>
</form>`,
    ),
  );

  app.post<{ Params: { id: string } }>('/cases/:id', async (request, reply) => {
    try {
      const principal = await principalOf(deps.tokens, request.body);
      requirePermission(principal, 'cases:read');
      const c = await deps.cases.visibleCase(principal, request.params.id);
      const [timeline, evidence, approvals, tasks] = await Promise.all([
        deps.store.listTimeline(c.id, { limit: 20 }),
        deps.store.listEvidence(c.id),
        deps.approvals.list(principal, { status: ['pending'] }, { limit: 500 }),
        deps.cases.tasks(principal, c.id),
      ]);
      const pending = approvals.items.filter((a) => a.caseId === c.id);
      const rows = (items: string[]): string =>
        items.length > 0 ? items.join('') : '<li>none</li>';
      return send(
        reply,
        200,
        `Case #${c.number}`,
        `<h1>#${c.number} ${escapeHtml(c.title)}</h1>
<dl><dt>Severity</dt><dd>${escapeHtml(c.severity)}${c.tier === null ? '' : ` · tier ${c.tier}`}</dd>
<dt>Status</dt><dd>${escapeHtml(c.status)} · ${escapeHtml(c.phase)}</dd>
<dt>Unit</dt><dd>${escapeHtml(c.businessUnit ?? '—')}</dd>
<dt>Owner</dt><dd>${escapeHtml(c.owner ?? '—')}</dd>
<dt>Models</dt><dd>${escapeHtml(c.modelIds.join(', ') || '—')}</dd>
<dt>ATLAS</dt><dd>${escapeHtml(c.atlasTechniques.join(', ') || '—')}</dd></dl>
<h2>Waiting for approval</h2><ul>${rows(
          pending.map(
            (a) =>
              `<li>${escapeHtml(a.message)} — <a href="/approvals/${encodeURIComponent(a.id)}">answer</a></li>`,
          ),
        )}</ul>
<h2>Tasks</h2><ul>${rows(
          tasks.map(
            (t) =>
              `<li>${t.done ? '☑' : '☐'} ${escapeHtml(t.text)}${
                t.done ? ` <span class="note">(done by ${escapeHtml(t.doneBy ?? '?')})</span>` : ''
              }</li>`,
          ),
        )}</ul>
<h2>Latest on the timeline</h2><ul>${rows(
          timeline
            .slice()
            .reverse()
            .map(
              (t) =>
                `<li><span class="note">${escapeHtml(t.at)} ${escapeHtml(t.actor)}</span> ${escapeHtml(t.message)}</li>`,
            ),
        )}</ul>
<h2>Evidence</h2><ul>${rows(
          evidence.map(
            (e) =>
              `<li>${escapeHtml(e.name)} <span class="note">(${escapeHtml(e.kind)}, ${e.sizeBytes} bytes, sha256 ${e.sha256.slice(0, 16)}…)</span></li>`,
          ),
        )}</ul>
<p class="note">The API has everything: GET /api/v1/cases/${c.number}.</p>`,
      );
    } catch (error) {
      const { status, message } = problem(error);
      return send(
        reply,
        status,
        'Case',
        `<h1>Case not shown</h1><p class="error">${escapeHtml(message)}</p>`,
      );
    }
  });
}
