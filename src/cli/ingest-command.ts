import type { Command } from 'commander';
import type { EncodedAlert } from '../core/alert.js';
import { WardenError } from '../core/errors.js';
import { openWarden } from '../main.js';
import { SOURCE_CONTEXT_FIELDS, sourceContextValue } from '../sources/source-context.js';
import type { SourceContext, SourceFormat } from '../sources/source-format.js';
import {
  findSourceFormat,
  normalizePart,
  payloadParts,
  sourceFormatFor,
} from '../sources/source-registry.js';
import { payloadOf, readAlertFile, type FileItem } from './alert-file.js';
import { configOption, dataOption } from './common-options.js';
import { ProgressBar } from './progress-bar.js';

const CHUNK = 500;

interface Tally {
  new: number;
  duplicates: number;
  /** Payloads that carry no finding (a garak `init` row, …): neither stored nor refused. */
  ignored: number;
  rejected: { where: string; message: string }[];
}

interface IngestOptions {
  source?: string;
  model?: string;
  session?: string;
  user?: string;
  businessUnit?: string;
  url?: string;
  token?: string;
  config: string;
  data: string;
}

export function registerIngestCommand(program: Command): void {
  program
    .command('ingest')
    .description(
      'ingest alert files (JSON or NDJSON) into the store, or POST them to a running server',
    )
    .argument('<file...>', 'alert files')
    .option('--source <format>', 'source format (default: detected per alert)')
    .option('--model <id>', 'model the alerts are about, when a payload names none')
    .option('--session <id>', 'session id, when a payload names none')
    .option('--user <id>', 'user, when a payload names none')
    .option(
      '--business-unit <id>',
      'business unit, for alerts about a model the inventory does not know',
    )
    .option('--url <url>', 'POST to this Warden server instead of writing the store directly')
    .option('--token <token>', 'bearer token for --url (or WARDEN_TOKEN)')
    .addOption(configOption())
    .addOption(dataOption())
    .action(async (files: string[], options: IngestOptions) => {
      if (options.source) findSourceFormat(options.source);
      const context = sourceContextOfOptions(options);
      const items = files.flatMap(readAlertFile);
      const bar = items.length >= 1000 ? new ProgressBar(items.length, 'ingest') : undefined;
      const tally: Tally = { new: 0, duplicates: 0, ignored: 0, rejected: [] };
      if (options.url) await ingestOverHttp(items, options, context, tally, bar);
      else await ingestLocally(items, options, context, tally, bar);
      bar?.finish();
      process.stdout.write(
        `ingested ${items.length} alerts: ${tally.new} new, ${tally.duplicates} duplicates, ${tally.rejected.length} rejected` +
          (tally.ignored > 0 ? `, ${tally.ignored} ignored (no finding)` : '') +
          '\n',
      );
      for (const r of tally.rejected.slice(0, 20))
        process.stderr.write(`  ${r.where}: ${r.message}\n`);
      if (tally.rejected.length > 20)
        process.stderr.write(`  … and ${tally.rejected.length - 20} more\n`);
      if (tally.rejected.length > 0) process.exitCode = 1;
    });
}

/** `--model`, `--session`, `--user`, `--business-unit`, checked as the HTTP API checks them. */
function sourceContextOfOptions(options: IngestOptions): SourceContext {
  const context: SourceContext = {};
  const model = sourceContextValue(options.model, '--model');
  const session = sourceContextValue(options.session, '--session');
  const user = sourceContextValue(options.user, '--user');
  const unit = sourceContextValue(options.businessUnit, '--business-unit');
  if (unit !== undefined) context.business_unit = unit;
  if (model !== undefined) context.model = model;
  if (session !== undefined) context.session = session;
  if (user !== undefined) context.user = user;
  return context;
}

async function ingestLocally(
  items: FileItem[],
  options: IngestOptions,
  context: SourceContext,
  tally: Tally,
  bar?: ProgressBar,
): Promise<void> {
  // Runs the new cases start are queued for the server to execute, not run by this one-shot command.
  const warden = openWarden({
    configDir: options.config,
    dataDir: options.data,
    playbooks: 'queue',
  });
  try {
    for (let i = 0; i < items.length; i += CHUNK) {
      const chunk = items.slice(i, i + CHUNK);
      const prepared: EncodedAlert[] = [];
      for (const item of chunk) {
        let format: SourceFormat;
        let payload: unknown;
        let parts: unknown[];
        try {
          payload = payloadOf(item);
          format = sourceFormatFor(payload, options.source);
          parts = payloadParts(format, payload);
        } catch (error) {
          if (!(error instanceof WardenError)) throw error;
          tally.rejected.push({ where: item.where, message: error.message });
          continue;
        }
        if (parts.length === 0) tally.ignored += 1;
        parts.forEach((part, n) => {
          // A part that is the payload itself is a one-alert payload.
          const whole = part === payload;
          try {
            prepared.push(
              warden.preparer.prepare(
                normalizePart(format, part, context),
                whole ? item.text : JSON.stringify(part),
              ),
            );
          } catch (error) {
            if (!(error instanceof WardenError)) throw error;
            tally.rejected.push({
              where: whole ? item.where : `${item.where} part ${n}`,
              message: error.message,
            });
          }
        });
      }
      for (const outcome of await warden.ingest.submit(prepared)) {
        if (outcome.status === 'new') tally.new += 1;
        else tally.duplicates += 1;
      }
      bar?.advance(chunk.length);
    }
  } finally {
    await warden.close();
  }
}

interface IngestResponse {
  results: { index: number; part?: number; status: string; error?: { message: string } }[];
}

function whereOf(chunk: FileItem[], r: IngestResponse['results'][number]): string {
  const where = chunk[r.index]?.where ?? '?';
  return r.part === undefined ? where : `${where} part ${r.part}`;
}

async function ingestOverHttp(
  items: FileItem[],
  options: IngestOptions,
  context: SourceContext,
  tally: Tally,
  bar?: ProgressBar,
): Promise<void> {
  const token = options.token ?? process.env.WARDEN_TOKEN;
  if (!token) throw new WardenError('unauthorized', '--url needs --token TOKEN or WARDEN_TOKEN');
  const endpoint = new URL('/api/v1/alerts', options.url);
  if (options.source) endpoint.searchParams.set('source', options.source);
  for (const field of SOURCE_CONTEXT_FIELDS) {
    const value = context[field];
    if (value !== undefined) endpoint.searchParams.set(field, value);
  }
  for (let i = 0; i < items.length; i += CHUNK) {
    const chunk = items.slice(i, i + CHUNK);
    const body = chunk.map((item) => item.text ?? JSON.stringify(item.payload)).join('\n');
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson' },
      body,
    });
    const json = (await response.json()) as IngestResponse & {
      detail?: string;
      errors?: IngestResponse['results'];
    };
    if (response.status !== 202) {
      const perItem = json.errors;
      if (response.status === 422 && perItem) {
        for (const r of perItem)
          tally.rejected.push({
            where: whereOf(chunk, r),
            message: r.error?.message ?? 'rejected',
          });
        bar?.advance(chunk.length);
        continue;
      }
      throw new WardenError(
        'internal',
        `server answered ${response.status}: ${json.detail ?? 'no detail'}`,
      );
    }
    for (const r of json.results) {
      if (r.status === 'new') tally.new += 1;
      else if (r.status === 'duplicate') tally.duplicates += 1;
      else if (r.status === 'ignored') tally.ignored += 1;
      else
        tally.rejected.push({ where: whereOf(chunk, r), message: r.error?.message ?? 'rejected' });
    }
    bar?.advance(chunk.length);
  }
}
