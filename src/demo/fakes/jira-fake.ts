import type { FakeReply, FakeRequest, VendorFake, VendorFakeFactory } from '../vendor-fake.js';

/**
 * Jira for the demo, under `/jira`: the parts of the REST API (v3, and v2
 * as Data Center serves it) the `jira` connector uses. Issues get keys
 * SEC-1, SEC-2, … per project, move between To Do, In Progress and Done,
 * take comments, and are found by JQL `labels = "…"` (the only form it
 * understands). Any Basic or Bearer credential is accepted. Not Jira:
 * no permissions, screens or workflows beyond that.
 */

const PREFIX = '/jira';
const PRIORITIES = ['Highest', 'High', 'Medium', 'Low', 'Lowest'];

interface Status {
  readonly name: string;
  readonly category: 'new' | 'indeterminate' | 'done';
  readonly categoryName: string;
}

const STATUSES: readonly Status[] = [
  { name: 'To Do', category: 'new', categoryName: 'To Do' },
  { name: 'In Progress', category: 'indeterminate', categoryName: 'In Progress' },
  { name: 'Done', category: 'done', categoryName: 'Done' },
];
/** One transition into each status, offered from every other status. */
const TRANSITIONS = [
  { id: '11', name: 'To Do', to: 'To Do' },
  { id: '21', name: 'In Progress', to: 'In Progress' },
  { id: '31', name: 'Done', to: 'Done' },
];

interface Issue {
  readonly id: string;
  readonly key: string;
  readonly project: string;
  readonly issueType: string;
  readonly summary: string;
  readonly description: unknown;
  readonly labels: readonly string[];
  readonly priority: string;
  readonly assignee: string | undefined;
  status: Status;
  readonly created: string;
  updated: string;
  readonly comments: { id: string; body: unknown; created: string }[];
}

type Json = Record<string, unknown>;

export const createJiraFake: VendorFakeFactory = (record): VendorFake => {
  const issues: Issue[] = [];
  const counters = new Map<string, number>();
  let nextId = 10_000;

  const find = (idOrKey: string): Issue | undefined =>
    issues.find((issue) => issue.key === idOrKey.toUpperCase() || issue.id === idOrKey);

  function handle(request: FakeRequest): FakeReply | undefined {
    if (request.path !== PREFIX && !request.path.startsWith(`${PREFIX}/`)) return undefined;
    const match = /^\/rest\/api\/(2|3)(\/.*)$/.exec(request.path.slice(PREFIX.length));
    if (match === null) return errors(404, [`No demo Jira endpoint at ${request.path}`]);
    const version = match[1] === '2' ? 2 : 3;
    const path = match[2] ?? '';
    if (!/^(Basic|Bearer) \S+/.test(String(request.headers.authorization ?? ''))) {
      return errors(401, [
        'You are not authenticated. Authentication required to perform this operation.',
      ]);
    }
    let body: unknown;
    try {
      body = request.text.trim() === '' ? undefined : (JSON.parse(request.text) as unknown);
    } catch {
      return errors(400, ['The request body is not valid JSON.']);
    }
    const base = `http://${String(request.headers.host ?? '127.0.0.1:8089')}${PREFIX}/rest/api/${version}`;
    const method = request.method.toUpperCase();
    let m: RegExpExecArray | null;

    if (method === 'POST' && path === '/issue') return createIssue(asJson(body), base);
    if ((m = /^\/issue\/([^/]+)(\/comment|\/transitions)?$/.exec(path))) {
      const issue = find(decodeURIComponent(m[1] ?? ''));
      if (issue === undefined) {
        return errors(404, ['Issue does not exist or you do not have permission to see it.']);
      }
      const sub = m[2];
      if (sub === undefined && method === 'GET') return ok(200, issueBody(issue, base));
      if (sub === '/comment' && method === 'POST') return addComment(issue, asJson(body), base);
      if (sub === '/transitions' && method === 'GET') {
        return ok(200, { transitions: available(issue).map((t) => transitionBody(t)) });
      }
      if (sub === '/transitions' && method === 'POST') return transition(issue, asJson(body));
    }
    if ((version === 3 && path === '/search/jql') || (version === 2 && path === '/search')) {
      const jql = method === 'GET' ? request.query.get('jql') : asJson(body).jql;
      return search(typeof jql === 'string' ? jql : '', version, base);
    }
    return errors(404, [`No demo Jira endpoint for ${method} ${request.path}`]);
  }

  function createIssue(body: Json, base: string): FakeReply {
    const fields = asJson(body.fields);
    const project = asJson(fields.project).key;
    const issueType = asJson(fields.issuetype).name;
    const summary = fields.summary;
    const labels: unknown[] = Array.isArray(fields.labels) ? fields.labels : [];
    const priority = fields.priority === undefined ? 'Medium' : asJson(fields.priority).name;
    const problems: Record<string, string> = {};
    if (typeof project !== 'string' || project === '')
      problems.project = 'Specify a valid project ID or key';
    if (typeof issueType !== 'string' || issueType === '')
      problems.issuetype = 'Specify an issue type';
    if (typeof summary !== 'string' || summary.trim() === '') {
      problems.summary = 'You must specify a summary of the issue.';
    } else if (summary.length > 255 || /[\r\n]/.test(summary)) {
      problems.summary = 'Summary must be one line of less than 255 characters.';
    }
    const badLabel = labels.find((label) => typeof label !== 'string' || /\s/.test(label));
    if (badLabel !== undefined) {
      problems.labels = `The label '${typeof badLabel === 'string' ? badLabel : JSON.stringify(badLabel)}' contains spaces which is invalid.`;
    }
    if (typeof priority !== 'string' || !PRIORITIES.includes(priority)) {
      problems.priority = `The priority selected is invalid (known: ${PRIORITIES.join(', ')}).`;
    }
    if (Object.keys(problems).length > 0) return errors(400, [], problems);

    const projectKey = String(project);
    const number = (counters.get(projectKey) ?? 0) + 1;
    counters.set(projectKey, number);
    const now = jiraTime();
    const assignee = asJson(fields.assignee).accountId ?? asJson(fields.assignee).name;
    const issue: Issue = {
      id: String((nextId += 1)),
      key: `${projectKey}-${number}`,
      project: projectKey,
      issueType: String(issueType),
      summary: String(summary),
      description: fields.description,
      labels: labels.map(String),
      priority: String(priority),
      assignee: typeof assignee === 'string' ? assignee : undefined,
      status: STATUSES[0] as Status,
      created: now,
      updated: now,
      comments: [],
    };
    issues.push(issue);
    record('jira', 'created issue', issue.key, {
      summary: issue.summary,
      issueType: issue.issueType,
      priority: issue.priority,
      labels: issue.labels,
    });
    return ok(201, { id: issue.id, key: issue.key, self: `${base}/issue/${issue.id}` });
  }

  function addComment(issue: Issue, body: Json, base: string): FakeReply {
    const text = plainText(body.body);
    if (text.trim() === '') return errors(400, [], { comment: 'Comment body can not be empty!' });
    const comment = { id: String((nextId += 1)), body: body.body, created: jiraTime() };
    issue.comments.push(comment);
    issue.updated = comment.created;
    record('jira', 'commented', issue.key, { text });
    return ok(201, {
      id: comment.id,
      self: `${base}/issue/${issue.id}/comment/${comment.id}`,
      body: comment.body,
      created: comment.created,
      updated: comment.created,
    });
  }

  function transition(issue: Issue, body: Json): FakeReply {
    const id = asJson(body.transition).id;
    const chosen = available(issue).find((t) => t.id === id);
    if (chosen === undefined) {
      return errors(400, [`Transition id '${String(id)}' is not valid for this issue.`]);
    }
    const from = issue.status.name;
    issue.status = STATUSES.find((status) => status.name === chosen.to) ?? issue.status;
    issue.updated = jiraTime();
    record('jira', 'transitioned', issue.key, { from, to: issue.status.name });
    return { status: 204, body: null };
  }

  function search(jql: string, version: 2 | 3, base: string): FakeReply {
    const label = /^\s*labels\s*=\s*"([^"]+)"\s*$/.exec(jql)?.[1];
    if (label === undefined) {
      return errors(400, [
        `The demo Jira understands only JQL of the form labels = "…" (got: ${jql})`,
      ]);
    }
    const found = issues
      .filter((issue) => issue.labels.includes(label))
      .map((issue) => ({
        id: issue.id,
        key: issue.key,
        self: `${base}/issue/${issue.id}`,
        fields: { summary: issue.summary },
      }));
    return ok(
      200,
      version === 3
        ? { issues: found, isLast: true }
        : { startAt: 0, maxResults: 50, total: found.length, issues: found },
    );
  }

  return {
    prefix: PREFIX,
    description: 'Jira (REST API v3 and v2): issues, comments, transitions, JQL search by label',
    handle,
  };
};

function available(issue: Issue): typeof TRANSITIONS {
  return TRANSITIONS.filter((t) => t.to !== issue.status.name);
}

function transitionBody(t: (typeof TRANSITIONS)[number]): Json {
  const status = STATUSES.find((s) => s.name === t.to);
  return {
    id: t.id,
    name: t.name,
    to: {
      name: t.to,
      statusCategory: { key: status?.category, name: status?.categoryName },
    },
  };
}

function issueBody(issue: Issue, base: string): Json {
  return {
    id: issue.id,
    key: issue.key,
    self: `${base}/issue/${issue.id}`,
    fields: {
      summary: issue.summary,
      project: { key: issue.project },
      issuetype: { name: issue.issueType },
      description: issue.description ?? null,
      labels: issue.labels,
      status: {
        name: issue.status.name,
        statusCategory: { key: issue.status.category, name: issue.status.categoryName },
      },
      assignee:
        issue.assignee === undefined
          ? null
          : { accountId: issue.assignee, displayName: `User ${issue.assignee.slice(0, 6)}` },
      priority: { name: issue.priority },
      created: issue.created,
      updated: issue.updated,
      comment: { total: issue.comments.length },
    },
  };
}

/** The text of an ADF document (v3) or a plain string (v2). */
function plainText(body: unknown): string {
  if (typeof body === 'string') return body;
  const parts: string[] = [];
  const walk = (node: unknown): void => {
    const object = asJson(node);
    if (typeof object.text === 'string') parts.push(object.text);
    if (object.type === 'hardBreak') parts.push('\n');
    if (Array.isArray(object.content)) {
      object.content.forEach(walk);
      if (object.type === 'paragraph') parts.push('\n');
    }
  };
  walk(body);
  return parts.join('').trim();
}

/** Jira's timestamp format, e.g. `2025-03-01T12:00:00.000+0000`. */
function jiraTime(): string {
  return new Date().toISOString().replace('Z', '+0000');
}

function ok(status: number, body: unknown): FakeReply {
  return { status, body };
}

function errors(
  status: number,
  messages: string[],
  fields: Record<string, string> = {},
): FakeReply {
  return { status, body: { errorMessages: messages, errors: fields } };
}

function asJson(value: unknown): Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Json)
    : {};
}
