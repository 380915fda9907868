import type { FastifyInstance } from 'fastify';
import { invalidField } from '../../core/errors.js';
import type { EvidenceWorkflow } from '../../pipeline/evidence-workflow.js';
import { principalWith } from '../auth.js';
import { bodyObject, oneOf, optionalString, requiredString } from '../request-fields.js';

export interface EvidenceRouteDeps {
  evidence: EvidenceWorkflow;
}

const WHERE = 'evidence';
/** Kinds an analyst may add; the others are what playbooks collect. */
const UPLOAD_KINDS = ['transcript', 'dataset_reference', 'model_hash', 'file', 'note'] as const;

export function evidenceRoutes(app: FastifyInstance, deps: EvidenceRouteDeps): void {
  app.get<{ Params: { id: string } }>('/api/v1/cases/:id/evidence', async (request) => {
    const principal = principalWith(request, 'cases:read');
    return { items: await deps.evidence.list(principal, request.params.id) };
  });

  app.post<{ Params: { id: string } }>('/api/v1/cases/:id/evidence', async (request, reply) => {
    const principal = principalWith(request, 'cases:write');
    const body = bodyObject(
      request.body,
      ['name', 'kind', 'content', 'content_base64', 'media_type', 'note'],
      WHERE,
    );
    const name = requiredString(body, 'name', WHERE, 200);
    const kind = oneOf(body.kind ?? 'file', UPLOAD_KINDS, 'kind', WHERE);
    const mediaType = optionalString(body, 'media_type', WHERE, 200);
    const note = optionalString(body, 'note', WHERE, 2000);
    let content: Uint8Array | string;
    if (body.content !== undefined && body.content_base64 !== undefined) {
      throw invalidField(
        'content_base64',
        'give either content or content_base64, not both',
        WHERE,
      );
    }
    if (body.content_base64 !== undefined) {
      const encoded = requiredString(body, 'content_base64', WHERE, 16 * 1024 * 1024);
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded.replace(/\s+/g, ''))) {
        throw invalidField('content_base64', 'is not base64', WHERE);
      }
      content = Buffer.from(encoded, 'base64');
    } else if (typeof body.content === 'string') {
      content = body.content;
    } else {
      throw invalidField(
        'content',
        'must be a string (text), or send content_base64 (bytes)',
        WHERE,
      );
    }
    const item = await deps.evidence.add(principal, request.params.id, {
      name,
      kind,
      content,
      ...(mediaType === undefined ? {} : { mediaType }),
      ...(note === undefined ? {} : { note }),
    });
    return reply.code(201).header('location', `/api/v1/evidence/${item.id}`).send(item);
  });

  app.get<{ Params: { id: string } }>('/api/v1/evidence/:id', async (request) => {
    const principal = principalWith(request, 'cases:read');
    return deps.evidence.describe(principal, request.params.id);
  });

  app.get<{ Params: { id: string } }>('/api/v1/evidence/:id/content', async (request, reply) => {
    const principal = principalWith(request, 'cases:read');
    const item = await deps.evidence.read(principal, request.params.id);
    const filename = item.name.replace(/[^A-Za-z0-9._-]+/g, '_');
    return reply
      .header('content-type', item.mediaType)
      .header('content-disposition', `attachment; filename="${filename}"`)
      .header('repr-digest', `sha-256=:${Buffer.from(item.sha256, 'hex').toString('base64')}:`)
      .header('x-warden-evidence-sha256', item.sha256)
      .send(Buffer.from(item.content));
  });
}
