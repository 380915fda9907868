import { parseJsonObject } from '../../connectors/http/json-api.js';
import type { FakeReply, FakeRequest, VendorFake, VendorFakeFactory } from '../vendor-fake.js';

/**
 * Slack incoming webhooks for the demo, under `/slack`: `POST
 * /slack/services/T…/B…/<token>` with a JSON message (or the legacy
 * `payload=` form field). Like Slack it answers `ok` as text/plain, and
 * errors as short strings: 400 `invalid_payload` (not JSON),
 * `no_text` (neither text nor blocks), `invalid_blocks` (a block without a
 * known type, more than 50 blocks); 404 `no_service` for any other path.
 * Any token is accepted. Each message posted is recorded (its text, block
 * count and button links), never the token.
 */

const PREFIX = '/slack';
const HOOK = /^\/slack\/services\/([A-Za-z0-9]+)\/([A-Za-z0-9]+)\/([A-Za-z0-9_-]+)$/;
const MAX_BLOCKS = 50;
const BLOCK_TYPES = new Set([
  'actions',
  'context',
  'divider',
  'file',
  'header',
  'image',
  'input',
  'markdown',
  'rich_text',
  'section',
  'video',
]);

export const createSlackFake: VendorFakeFactory = (record): VendorFake => {
  /** `webhook` is `T…/B…`: the workspace and webhook ids, never the token. */
  const post = (webhook: string, request: FakeRequest): FakeReply => {
    const message = parseMessage(request);
    if (message === undefined) return text(400, 'invalid_payload');
    const problem = blockProblem(message);
    if (problem !== undefined) return text(400, problem);
    const blocks = Array.isArray(message.blocks) ? (message.blocks as unknown[]) : [];
    record('slack', 'posted message', webhook, {
      text: typeof message.text === 'string' ? message.text : undefined,
      blocks: blocks.length,
      buttons: buttonUrls(blocks),
    });
    return text(200, 'ok');
  };

  return {
    prefix: PREFIX,
    description:
      'Slack incoming webhooks: POST /slack/services/T…/B…/…, Block Kit checked, answers ok',
    handle(request) {
      if (request.path !== PREFIX && !request.path.startsWith(`${PREFIX}/`)) return undefined;
      const match = HOOK.exec(request.path);
      if (match === null) return text(404, 'no_service');
      if (request.method !== 'POST') return text(405, 'invalid_method');
      return post(`${match[1]}/${match[2]}`, request);
    },
  };
};

type Message = { text?: unknown; blocks?: unknown };

/** JSON, or the legacy form encoding `payload=<json>`; undefined when unreadable. */
function parseMessage(request: FakeRequest): Message | undefined {
  const type = String(request.headers['content-type'] ?? '');
  const json = type.includes('application/x-www-form-urlencoded')
    ? (new URLSearchParams(request.text).get('payload') ?? '')
    : request.text;
  return parseJsonObject(json);
}

/** Slack's minimum: some text or blocks; every block an object of a known type. */
function blockProblem(message: Message): string | undefined {
  const hasText = typeof message.text === 'string' && message.text.trim() !== '';
  if (message.blocks === undefined) return hasText ? undefined : 'no_text';
  if (!Array.isArray(message.blocks)) return 'invalid_blocks_format';
  if (message.blocks.length === 0 && !hasText) return 'no_text';
  if (message.blocks.length > MAX_BLOCKS) return 'invalid_blocks';
  const valid = message.blocks.every(
    (block) =>
      typeof block === 'object' &&
      block !== null &&
      BLOCK_TYPES.has(String((block as { type?: unknown }).type)),
  );
  return valid ? undefined : 'invalid_blocks';
}

/** The link buttons of `actions` blocks, so the demo log shows where they lead. */
function buttonUrls(blocks: readonly unknown[]): string[] {
  const urls: string[] = [];
  for (const block of blocks) {
    const elements = (block as { type?: unknown; elements?: unknown }).elements;
    if ((block as { type?: unknown }).type !== 'actions' || !Array.isArray(elements)) continue;
    for (const element of elements) {
      const url = (element as { url?: unknown }).url;
      if (typeof url === 'string') urls.push(url);
    }
  }
  return urls;
}

function text(status: number, body: string): FakeReply {
  return { status, body, contentType: 'text/plain; charset=utf-8' };
}
