import { ALERT_TYPES, SEVERITY_LABELS } from '../core/alert.js';
import { APPROVER_ROLES, ROLES } from '../core/access.js';
import { CASE_PHASES, CASE_STATUSES, CLOSURE_REASONS } from '../core/case.js';
import { EVIDENCE_KINDS } from '../core/evidence.js';
import { sourceFormatNames } from '../sources/source-registry.js';

const problem = { $ref: '#/components/responses/Problem' };
const errors = (...codes: number[]): Record<string, unknown> =>
  Object.fromEntries(codes.map((c) => [String(c), problem]));
const json = (schema: unknown): unknown => ({ content: { 'application/json': { schema } } });
const idParam = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'Case id, or case number',
  schema: { type: 'string' },
};
const caseRef = { $ref: '#/components/schemas/Case' };
const taskRef = { $ref: '#/components/schemas/Task' };
const approvalRef = { $ref: '#/components/schemas/Approval' };
const deadLetterRef = { $ref: '#/components/schemas/DeadLetter' };
const evidenceRef = { $ref: '#/components/schemas/Evidence' };
/** The sender context of POST /api/v1/alerts: query parameters, or the X-Warden-* headers. */
const contextParams = (
  [
    ['model', 'X-Warden-Model', 'Model (or deployment) id'],
    ['session', 'X-Warden-Session', 'Session or conversation id'],
    ['user', 'X-Warden-User', 'End user'],
    ['business_unit', 'X-Warden-Business-Unit', 'Business unit (when no known model says it)'],
  ] as const
).flatMap(([name, header, what]) => {
  const description = `${what} the alerts are about; fills what a payload lacks (its own value wins). The query parameter wins over the header.`;
  const schema = { type: 'string', minLength: 1, maxLength: 200 };
  return [
    { name, in: 'query', description, schema },
    { name: header, in: 'header', description, schema },
  ];
});
const plainId = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
/** `limit` and `cursor` of a paged list. */
const pageParams = [
  {
    name: 'limit',
    in: 'query',
    schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
  },
  { name: 'cursor', in: 'query', schema: { type: 'string' } },
];
/** A 200 answer holding a page of `items` and the `nextCursor`. */
const pageOf = (items: unknown, description: string): Record<string, unknown> => ({
  description,
  ...(json({
    type: 'object',
    properties: {
      items: { type: 'array', items },
      nextCursor: { type: ['string', 'null'] },
    },
  }) as object),
});

/** The OpenAPI 3.1 description of the HTTP API, served at /api/v1/openapi.json. */
export function openApiDocument(version: string): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Warden API',
      version,
      description:
        'Alerts from AI/ML systems in, correlated cases out. Every /api call needs `Authorization: Bearer TOKEN`. Errors are application/problem+json with a stable `code`.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    security: [{ bearer: [] }],
    paths: {
      '/api/v1/alerts': {
        post: {
          summary: 'Ingest alerts',
          description:
            'One alert payload, a JSON array of them, or NDJSON (one per line). The format is detected, or named with `?source=`. `?model=`, `?session=`, `?user=` (or the `X-Warden-Model`, `X-Warden-Session`, `X-Warden-User` headers) add the sender context to verdicts that lack it. Answers after the alerts are durably stored. A bad alert in a batch is reported by its index; the others are stored. A token scoped to business units may ingest only alerts about models of those units (others are refused with `forbidden`).',
          parameters: [
            { name: 'source', in: 'query', schema: { type: 'string', enum: sourceFormatNames() } },
            ...contextParams,
          ],
          requestBody: {
            required: true,
            content: {
              'application/json': { schema: { oneOf: [{ type: 'object' }, { type: 'array' }] } },
              'application/x-ndjson': { schema: { type: 'string' } },
            },
          },
          responses: {
            '202': {
              description: 'Stored',
              ...(json({ $ref: '#/components/schemas/IngestResult' }) as object),
            },
            ...errors(400, 401, 403, 413, 415, 422, 503),
          },
        },
      },
      '/api/v1/alerts/{id}': {
        get: {
          summary: 'Read one normalised alert, with its raw payload',
          parameters: [{ ...idParam, description: 'Alert id' }],
          responses: {
            '200': { description: 'The alert', ...(json({ type: 'object' }) as object) },
            ...errors(401, 403, 404),
          },
        },
      },
      '/api/v1/cases': {
        get: {
          summary: 'List cases, most recently updated first',
          parameters: [
            {
              name: 'status',
              in: 'query',
              schema: { type: 'string' },
              description: `Comma-separated: ${CASE_STATUSES.join(', ')}`,
            },
            {
              name: 'severity',
              in: 'query',
              schema: { type: 'string' },
              description: `Comma-separated labels (${SEVERITY_LABELS.join(', ')}) or ids 0-6`,
            },
            {
              name: 'tier',
              in: 'query',
              schema: { type: 'string' },
              description: 'Comma-separated 1, 2, 3',
            },
            { name: 'business_unit', in: 'query', schema: { type: 'string' } },
            { name: 'model', in: 'query', schema: { type: 'string' } },
            {
              name: 'limit',
              in: 'query',
              schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
            },
            {
              name: 'cursor',
              in: 'query',
              schema: { type: 'string' },
              description: '`nextCursor` of the previous page',
            },
          ],
          responses: {
            '200': {
              description: 'A page of cases',
              ...(json({
                type: 'object',
                properties: {
                  items: { type: 'array', items: caseRef },
                  nextCursor: { type: ['string', 'null'] },
                },
              }) as object),
            },
            ...errors(400, 401, 403),
          },
        },
      },
      '/api/v1/cases/{id}': {
        get: {
          summary:
            'Read a case with its alerts (first 100), timeline (newest 200 entries), tasks and observables',
          parameters: [idParam],
          responses: {
            '200': { description: 'The case', ...(json(caseRef) as object) },
            ...errors(401, 403, 404),
          },
        },
        patch: {
          summary: 'Assign, change phase or status',
          parameters: [idParam],
          requestBody: json({
            type: 'object',
            additionalProperties: false,
            properties: {
              assignee: { type: ['string', 'null'] },
              phase: { enum: [...CASE_PHASES] },
              status: { enum: ['open', 'in_progress'] },
            },
          }),
          responses: {
            '200': { description: 'Updated case', ...(json(caseRef) as object) },
            ...errors(400, 401, 403, 404, 409, 422),
          },
        },
      },
      '/api/v1/cases/{id}/timeline': {
        get: {
          summary: 'Page through a case timeline, newest page first (each page oldest first)',
          parameters: [
            idParam,
            {
              name: 'limit',
              in: 'query',
              schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
            },
            {
              name: 'before',
              in: 'query',
              schema: { type: 'string' },
              description: '`nextBefore` of the previous page',
            },
          ],
          responses: {
            '200': {
              description: 'Timeline entries',
              ...(json({
                type: 'object',
                properties: {
                  items: { type: 'array', items: { type: 'object' } },
                  nextBefore: { type: ['string', 'null'] },
                },
              }) as object),
            },
            ...errors(400, 401, 403, 404),
          },
        },
      },
      '/api/v1/cases/{id}/comments': {
        post: {
          summary: 'Comment on a case',
          parameters: [idParam],
          requestBody: json({
            type: 'object',
            required: ['body'],
            properties: { body: { type: 'string' } },
          }),
          responses: {
            '201': { description: 'Updated case', ...(json(caseRef) as object) },
            ...errors(400, 401, 403, 404, 422),
          },
        },
      },
      '/api/v1/cases/{id}/tasks': {
        get: {
          summary: 'List a case’s tasks, oldest first, open and done',
          parameters: [idParam],
          responses: {
            '200': {
              description: 'Tasks',
              ...(json({
                type: 'object',
                properties: { items: { type: 'array', items: taskRef } },
              }) as object),
            },
            ...errors(401, 403, 404),
          },
        },
        post: {
          summary: 'Add a task for an analyst',
          parameters: [idParam],
          requestBody: json({
            type: 'object',
            required: ['text'],
            properties: { text: { type: 'string', maxLength: 2000 } },
          }),
          responses: {
            '201': { description: 'The task', ...(json(taskRef) as object) },
            ...errors(400, 401, 403, 404, 422),
          },
        },
      },
      '/api/v1/cases/{id}/tasks/{taskId}': {
        post: {
          summary: 'Mark a task done, or not done again (marking it as it is changes nothing)',
          parameters: [
            idParam,
            { name: 'taskId', in: 'path', required: true, schema: { type: 'string' } },
          ],
          requestBody: json({
            type: 'object',
            required: ['done'],
            properties: {
              done: { type: 'boolean' },
              note: { type: 'string', maxLength: 2000 },
            },
          }),
          responses: {
            '200': { description: 'The task', ...(json(taskRef) as object) },
            ...errors(400, 401, 403, 404, 422),
          },
        },
      },
      '/api/v1/cases/{id}/close': {
        post: {
          summary: 'Close a case with a reason code',
          parameters: [idParam],
          requestBody: json({
            type: 'object',
            required: ['reason'],
            properties: { reason: { enum: [...CLOSURE_REASONS] }, note: { type: 'string' } },
          }),
          responses: {
            '200': { description: 'Closed case', ...(json(caseRef) as object) },
            ...errors(400, 401, 403, 404, 409, 422),
          },
        },
      },
      '/api/v1/cases/{id}/reopen': {
        post: {
          summary: 'Reopen a closed case',
          parameters: [idParam],
          requestBody: json({ type: 'object', properties: { note: { type: 'string' } } }),
          responses: {
            '200': { description: 'Reopened case', ...(json(caseRef) as object) },
            ...errors(400, 401, 403, 404, 409),
          },
        },
      },
      '/api/v1/cases/{id}/evidence': {
        get: {
          summary: "A case's evidence, oldest first, each with its chain of custody",
          parameters: [idParam],
          responses: {
            '200': {
              description: 'Evidence items (metadata; the bytes via /api/v1/evidence/{id}/content)',
              ...(json({
                type: 'object',
                properties: { items: { type: 'array', items: evidenceRef } },
              }) as object),
            },
            ...errors(401, 403, 404),
          },
        },
        post: {
          summary: 'Add evidence to a case (text in `content`, bytes in `content_base64`)',
          parameters: [idParam],
          requestBody: json({
            type: 'object',
            required: ['name'],
            additionalProperties: false,
            properties: {
              name: { type: 'string', maxLength: 200 },
              kind: {
                enum: ['transcript', 'dataset_reference', 'model_hash', 'file', 'note'],
                default: 'file',
              },
              content: { type: 'string', description: 'Text, stored as UTF-8' },
              content_base64: { type: 'string', description: 'Bytes, base64-encoded' },
              media_type: { type: 'string' },
              note: { type: 'string', maxLength: 2000, description: 'Why it was collected' },
            },
          }),
          responses: {
            '201': { description: 'The stored item', ...(json(evidenceRef) as object) },
            ...errors(400, 401, 403, 404, 413, 422),
          },
        },
      },
      '/api/v1/evidence/{id}': {
        get: {
          summary: 'One evidence item with its chain of custody',
          parameters: [plainId],
          responses: {
            '200': { description: 'The item', ...(json(evidenceRef) as object) },
            ...errors(401, 403, 404),
          },
        },
      },
      '/api/v1/evidence/{id}/content': {
        get: {
          summary:
            'The bytes of an item, exactly as collected; the read is added to its chain of custody',
          parameters: [plainId],
          responses: {
            '200': {
              description:
                'The content, with its media type; `Repr-Digest` and `X-Warden-Evidence-Sha256` carry its SHA-256',
              content: { '*/*': { schema: { type: 'string', format: 'binary' } } },
            },
            ...errors(401, 403, 404),
          },
        },
      },
      '/api/v1/stats': {
        get: {
          summary: 'Counts and alert-to-case compression',
          responses: {
            '200': { description: 'Counts', ...(json({ type: 'object' }) as object) },
            ...errors(401, 403),
          },
        },
      },
      '/api/v1/audit/verify': {
        get: {
          summary:
            'Verify the audit log hash chain, and that each anchor (an entry as /audit/head gave it earlier, kept outside Warden) is still there, unchanged (admin)',
          parameters: [
            {
              name: 'anchor',
              in: 'query',
              description: 'SEQ:HASH; repeat the parameter or separate with commas',
              schema: { type: 'string', pattern: '^\\d+:[0-9a-fA-F]{64}(,\\d+:[0-9a-fA-F]{64})*$' },
            },
          ],
          responses: {
            '200': { description: 'Verification result', ...(json({ type: 'object' }) as object) },
            ...errors(400, 401, 403),
          },
        },
      },
      '/api/v1/audit/head': {
        get: {
          summary:
            'The newest audit entry as an anchor (SEQ:HASH) to record outside Warden, for verify?anchor= later (admin)',
          responses: {
            '200': {
              description: 'The head',
              ...(json({
                type: 'object',
                properties: {
                  seq: { type: 'integer' },
                  hash: { type: 'string' },
                  at: { type: 'string', format: 'date-time' },
                  anchor: { type: 'string' },
                },
              }) as object),
            },
            ...errors(401, 403, 404),
          },
        },
      },
      '/api/v1/tokens/{id}': {
        delete: {
          summary: 'Revoke a token: its secret stops working at once',
          parameters: [plainId],
          responses: { '204': { description: 'Revoked' }, ...errors(401, 403, 404) },
        },
      },
      '/api/v1/tokens': {
        get: {
          summary:
            'Every token: id, name, role, units, who created it and when (never the secret or its hash)',
          responses: {
            '200': { description: 'Tokens', ...(json({ type: 'object' }) as object) },
            ...errors(401, 403),
          },
        },
        post: {
          summary: 'Create an API token (admin); the secret is returned once',
          requestBody: json({
            type: 'object',
            required: ['role'],
            properties: {
              role: { enum: [...ROLES] },
              units: {
                type: 'array',
                items: { type: 'string' },
                description: 'Business-unit scope; omit for all',
              },
              name: { type: 'string' },
            },
          }),
          responses: {
            '201': { description: 'Token created', ...(json({ type: 'object' }) as object) },
            ...errors(400, 401, 403, 422),
          },
        },
      },
      '/api/v1/deadletters': {
        get: {
          summary:
            'Alerts the API refused, kept when warden.yaml sets ingest.dead_letter (admin); newest first',
          parameters: [...pageParams],
          responses: {
            '200': pageOf(deadLetterRef, 'A page of dead letters'),
            ...errors(400, 401, 403),
          },
        },
      },
      '/api/v1/deadletters/{id}': {
        get: {
          summary: 'One dead letter, with its body as received (admin)',
          parameters: [plainId],
          responses: {
            '200': { description: 'The dead letter', ...(json(deadLetterRef) as object) },
            ...errors(401, 403, 404),
          },
        },
      },
      '/api/v1/deadletters/replay': {
        post: {
          summary:
            'Replay every pending dead letter (never replayed, or refused again), oldest first, up to `limit` (admin). Read as `?source=`, else each as first sent; `?model=`, `?session=`, `?user=` add the sender context.',
          parameters: [
            { name: 'source', in: 'query', schema: { type: 'string', enum: sourceFormatNames() } },
            {
              name: 'limit',
              in: 'query',
              schema: { type: 'integer', minimum: 1, maximum: 10000, default: 1000 },
            },
            ...contextParams,
          ],
          responses: {
            '200': {
              description: 'What the replay did, per dead letter',
              ...(json({
                type: 'object',
                properties: {
                  replayed: { type: 'integer' },
                  stored: { type: 'integer' },
                  refused: { type: 'integer' },
                  remaining: { type: 'integer', description: 'Pending dead letters beyond limit' },
                  results: {
                    type: 'array',
                    items: {
                      type: 'object',
                      properties: {
                        deadLetterId: { type: 'string' },
                        result: { type: 'object', description: 'As a dead letter’s replayResult' },
                      },
                    },
                  },
                },
              }) as object),
            },
            ...errors(400, 401, 403, 503),
          },
        },
      },
      '/api/v1/deadletters/{id}/replay': {
        post: {
          summary:
            'Ingest a dead letter again (admin). Read as `?source=`, else as first sent; `?model=`, `?session=`, `?user=` add the sender context. Refused again: 422 with the new reason, which the dead letter keeps. Already replayed into an alert: 409.',
          parameters: [
            plainId,
            { name: 'source', in: 'query', schema: { type: 'string', enum: sourceFormatNames() } },
            ...contextParams,
          ],
          responses: {
            '200': {
              description: 'Replayed into an alert',
              ...(json({
                type: 'object',
                properties: {
                  deadLetter: deadLetterRef,
                  result: {
                    type: 'object',
                    properties: {
                      id: { type: 'string' },
                      status: { enum: ['new', 'duplicate'] },
                      caseId: { type: ['string', 'null'] },
                      caseNumber: { type: ['integer', 'null'] },
                    },
                  },
                },
              }) as object),
            },
            ...errors(400, 401, 403, 404, 409, 422, 503),
          },
        },
      },
      '/api/v1/approvals': {
        get: {
          summary: 'Approvals playbooks wait for (pending by default), newest first',
          parameters: [
            {
              name: 'status',
              in: 'query',
              schema: { type: 'string' },
              description: 'Comma-separated: pending, approved, denied, timed_out',
            },
            ...pageParams,
          ],
          responses: {
            '200': pageOf(approvalRef, 'A page of approvals'),
            ...errors(400, 401, 403),
          },
        },
      },
      '/api/v1/approvals/{id}': {
        get: {
          summary: 'One approval',
          parameters: [plainId],
          responses: {
            '200': { description: 'The approval', ...(json(approvalRef) as object) },
            ...errors(401, 403, 404),
          },
        },
        post: {
          summary: 'Approve or deny; the caller’s role must be one of the approval’s approvers',
          parameters: [plainId],
          requestBody: json({
            type: 'object',
            required: ['decision'],
            properties: {
              decision: { enum: ['approve', 'deny'] },
              comment: { type: 'string' },
            },
          }),
          responses: {
            '200': { description: 'The answered approval', ...(json(approvalRef) as object) },
            ...errors(400, 401, 403, 404, 409, 422),
          },
        },
      },
      '/api/v1/runs/{id}': {
        get: {
          summary:
            'A playbook run with its trace: every step, its inputs, outputs, the conditions that chose each branch, errors',
          parameters: [plainId],
          responses: {
            '200': {
              description: 'The run and its trace',
              ...(json({ type: 'object' }) as object),
            },
            ...errors(401, 403, 404),
          },
        },
      },
      '/api/v1/cases/{id}/runs': {
        get: {
          summary: 'The playbook runs of a case, oldest first',
          parameters: [idParam],
          responses: {
            '200': { description: 'Runs', ...(json({ type: 'object' }) as object) },
            ...errors(401, 403, 404),
          },
        },
      },
      '/api/v1/openapi.json': {
        get: { summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1' } } },
      },
      '/healthz': {
        get: {
          summary: 'Liveness and store check',
          security: [],
          responses: { '200': { description: 'OK' } },
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics',
          security: [],
          responses: { '200': { description: 'Prometheus text' } },
        },
      },
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      responses: {
        Problem: {
          description: 'RFC 9457 problem details',
          content: {
            'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } },
          },
        },
      },
      schemas: {
        Task: {
          type: 'object',
          description:
            'Something an analyst is to do on a case, added by a playbook (runId set) or an analyst',
          properties: {
            id: { type: 'string', description: 'The id of the timeline entry that added it' },
            text: { type: 'string' },
            createdAt: { type: 'string', format: 'date-time' },
            createdBy: { type: 'string' },
            runId: { type: ['string', 'null'] },
            done: { type: 'boolean' },
            doneAt: { type: ['string', 'null'], format: 'date-time' },
            doneBy: { type: ['string', 'null'] },
          },
        },
        Evidence: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            caseId: { type: 'string' },
            name: { type: 'string' },
            kind: { enum: [...EVIDENCE_KINDS] },
            mediaType: { type: 'string' },
            sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
            sizeBytes: { type: 'integer' },
            source: {
              type: 'object',
              description:
                'Who or what collected it: actor, and for playbooks runId, stepId, connector, action, idempotencyKey',
            },
            collectedAt: { type: 'string', format: 'date-time' },
            custody: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  at: { type: 'string', format: 'date-time' },
                  actor: { type: 'string' },
                  action: { enum: ['collected', 'read', 'verified'] },
                  detail: { type: 'object' },
                },
              },
            },
          },
        },
        DeadLetter: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            receivedAt: { type: 'string', format: 'date-time' },
            source: { type: ['string', 'null'], description: 'The ?source= the sender named' },
            reasonCode: { type: 'string' },
            reason: { type: 'string' },
            field: { type: ['string', 'null'] },
            body: { type: 'string', description: 'The payload JSON text as received' },
            replayedAt: { type: ['string', 'null'] },
            replayResult: {
              type: ['object', 'null'],
              description:
                '{ status: new | duplicate, alertId, caseId } or { status: rejected, code, message, field }',
            },
          },
        },
        Approval: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            runId: { type: 'string' },
            stepId: { type: 'string' },
            caseId: { type: 'string' },
            businessUnit: { type: ['string', 'null'] },
            status: { enum: ['pending', 'approved', 'denied', 'timed_out'] },
            approvers: { type: 'array', items: { enum: [...APPROVER_ROLES] } },
            message: { type: 'string' },
            requestedAt: { type: 'string', format: 'date-time' },
            deadline: { type: 'string', format: 'date-time' },
            answeredBy: { type: ['string', 'null'] },
            answeredRole: { type: ['string', 'null'] },
            answeredAt: { type: ['string', 'null'] },
            comment: { type: ['string', 'null'] },
          },
        },
        Problem: {
          type: 'object',
          required: ['type', 'title', 'status', 'detail', 'code'],
          properties: {
            type: { type: 'string' },
            title: { type: 'string' },
            status: { type: 'integer' },
            detail: { type: 'string' },
            code: { type: 'string' },
            field: { type: 'string' },
            errors: { type: 'array', items: { type: 'object' } },
            closestFormat: {
              type: 'string',
              description: 'undetected_source_format: the format the payload comes closest to',
            },
            deadLetterId: { type: 'string', description: 'The refused payload, kept' },
          },
        },
        IngestResult: {
          type: 'object',
          properties: {
            accepted: { type: 'integer' },
            new: { type: 'integer' },
            duplicates: { type: 'integer' },
            rejected: { type: 'integer' },
            ignored: {
              type: 'integer',
              description: 'Payloads that carry no finding (e.g. a garak init row): not stored',
            },
            results: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  index: { type: 'integer' },
                  part: {
                    type: 'integer',
                    description:
                      'Which alert of a payload that holds several (a Kibana context.alerts entry); absent for one-alert payloads',
                  },
                  id: { type: 'string' },
                  status: { enum: ['new', 'duplicate', 'rejected', 'ignored'] },
                  reason: { type: 'string', description: 'Why an item was ignored' },
                  caseId: { type: ['string', 'null'] },
                  caseNumber: { type: ['integer', 'null'] },
                  error: { type: 'object' },
                  deadLetterId: {
                    type: 'string',
                    description: 'A refused alert kept as a dead letter (ingest.dead_letter)',
                  },
                },
              },
            },
          },
        },
        Case: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            number: { type: 'integer' },
            title: { type: 'string' },
            status: { enum: [...CASE_STATUSES] },
            phase: { enum: [...CASE_PHASES] },
            severityId: { type: 'integer', minimum: 0, maximum: 6 },
            severity: { enum: [...SEVERITY_LABELS] },
            severityReason: { type: 'string' },
            severitySetBy: {
              type: 'string',
              description:
                'Present when a playbook chose the severity: alerts linked later keep it',
            },
            tier: { type: ['integer', 'null'] },
            businessUnit: { type: ['string', 'null'] },
            modelIds: { type: 'array', items: { type: 'string' } },
            owner: { type: ['string', 'null'] },
            assignee: { type: ['string', 'null'] },
            alertTypes: { type: 'array', items: { enum: [...ALERT_TYPES] } },
            atlasTechniques: { type: 'array', items: { type: 'string' } },
            blastRadius: { type: 'array', items: { type: 'string' } },
            allowlisted: { type: 'array', items: { type: 'object' } },
            alertCount: { type: 'integer' },
            eventCount: { type: 'integer' },
            closureReason: { type: ['string', 'null'], enum: [...CLOSURE_REASONS, null] },
          },
        },
      },
    },
  };
}
