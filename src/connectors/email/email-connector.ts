import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import addressparser from 'nodemailer/lib/addressparser';
import type MailComposerClass from 'nodemailer/lib/mail-composer';
import type SMTPConnectionClass from 'nodemailer/lib/smtp-connection';
import {
  ConnectorError,
  NOTIFY_ACTION,
  type Connector,
  type ConnectorActionSpec,
  type ConnectorCall,
  type ConnectorErrorCode,
  type ConnectorResult,
  type RateLimit,
  type Reconciliation,
  type WireExchange,
} from '../connector.js';
import { deadline } from '../../core/deadline.js';
import { notifyAction } from '../notify-action.js';
import { SecretRedactor } from '../secrets.js';

interface Mailer {
  MailComposer: typeof MailComposerClass;
  SMTPConnection: typeof SMTPConnectionClass;
}

/** Composing and sending mail is loaded by the first send, not by every thread reading config. */
let mailerLoading: Promise<Mailer> | undefined;
const loadMailer = (): Promise<Mailer> =>
  (mailerLoading ??= Promise.all([
    import('nodemailer/lib/mail-composer'),
    import('nodemailer/lib/smtp-connection'),
  ]).then(([composer, connection]) => ({
    MailComposer: composer.default,
    SMTPConnection: connection.default,
  })));
/**
 * Sends e-mail over SMTP (nodemailer's SMTP client): `notify` and `send`.
 * One connection per message: connect (implicit TLS or a required
 * STARTTLS), AUTH when credentials are configured, MAIL FROM / RCPT TO /
 * DATA, QUIT. The exchange shows the message as headers and text and the
 * server's final reply; credentials never appear in it.
 *
 * The Message-ID is derived from the idempotency key (`<key@warden>`) so
 * receivers and mail filters can drop a duplicate, but SMTP itself does not
 * deduplicate: a send that may have reached the server is not repeated, and
 * `reconcile` answers `unknown`. See docs/connectors/email.md.
 */

export interface EmailConnectorOptions {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** TLS from the first byte (port 465). */
  readonly secure: boolean;
  /** Without `secure`: require STARTTLS (true) or speak plain SMTP (false, local relays only). */
  readonly starttls: boolean;
  readonly username?: string;
  readonly password?: string;
  /** `Warden <warden@bank.example>`. */
  readonly from: string;
  /** Recipients of a `notify` without `to`. */
  readonly defaultTo: readonly string[];
  /** The whole SMTP session, connection to QUIT. */
  readonly timeoutMs: number;
  readonly concurrency: number;
  readonly rateLimit?: RateLimit;
  /** Every secret value of the instance's config, redacted wherever text is recorded. */
  readonly secretValues: readonly string[];
  /** Extra TLS options, e.g. `{ ca }` for a relay with a private certificate authority. */
  readonly tls?: TlsConnectionOptions;
  /** Recorded message text limit in bytes. @default 16384 */
  readonly recordedBodyBytes?: number;
}

export const EMAIL_DEFAULTS = Object.freeze({
  port: 587,
  timeoutMs: 10_000,
  concurrency: 2,
  subjectPrefix: '[Warden] ',
});

export const EMAIL_SEND_ACTION = 'send';

const OUTPUT_SCHEMA = {
  type: 'object',
  properties: {
    message_id: { type: 'string' },
    accepted: { type: 'array', items: { type: 'string' } },
    rejected: { type: 'array', items: { type: 'string' } },
    response: { type: 'string' },
  },
  required: ['message_id', 'accepted', 'rejected', 'response'],
  additionalProperties: false,
};

const ADDRESS_LIST = { type: 'array', items: { type: 'string', minLength: 3 } };

export const EMAIL_ACTIONS: Readonly<Record<string, ConnectorActionSpec>> = {
  ...notifyAction(
    'What notify steps call: e-mails the message to `to` (one address or a comma-separated list), else to default_to; the subject is its first line.',
    OUTPUT_SCHEMA,
  ),
  [EMAIL_SEND_ACTION]: {
    name: EMAIL_SEND_ACTION,
    description: 'Sends an e-mail with a subject, a text body and an optional HTML body.',
    effect: 'write',
    inputSchema: {
      type: 'object',
      properties: {
        to: { ...ADDRESS_LIST, minItems: 1 },
        cc: ADDRESS_LIST,
        subject: { type: 'string', minLength: 1 },
        text: { type: 'string', minLength: 1 },
        html: { type: 'string', minLength: 1 },
      },
      required: ['to', 'subject', 'text'],
      additionalProperties: false,
    },
    outputSchema: OUTPUT_SCHEMA,
  },
};

export function createEmailConnector(options: EmailConnectorOptions): Connector {
  return new EmailConnector(options);
}

/** A bare address, as RCPT TO takes it: no spaces, brackets or quotes, one @. */
const ADDRESS =
  /^[^\s@<>()",;:\\[\]]+@[^\s@<>()",;:\\[\]]+\.[^\s@<>()",;:\\[\]]+$|^[^\s@<>()",;:\\[\]]+@localhost$/;

/**
 * Addresses from `a@x.example`, `Name <a@x.example>` or a comma-separated
 * list of them; undefined when any entry is not an address.
 */
export function parseAddresses(text: string): string[] | undefined {
  const entries = addressparser(text, { flatten: true });
  if (entries.length === 0) return undefined;
  const addresses = entries.map((entry) => entry.address.trim());
  return addresses.every((address) => ADDRESS.test(address)) ? addresses : undefined;
}

interface Mail {
  readonly to: readonly string[];
  readonly cc: readonly string[];
  readonly subject: string;
  readonly text: string;
  readonly html?: string;
}

type Phase = 'connect' | 'auth' | 'send';
const PHASES: Readonly<Record<Phase, string>> = {
  connect: 'while connecting',
  auth: 'while logging in',
  send: 'while sending the message',
};

/** A failure of the SMTP session, with how far it got. */
class SmtpFailure extends Error {
  constructor(
    readonly original: SmtpError,
    readonly phase: Phase,
  ) {
    super(original.message);
  }
}

interface SmtpError extends Error {
  code?: string;
  originalCode?: string;
  responseCode?: number;
  response?: string;
  command?: string;
}

class EmailConnector implements Connector {
  readonly type = 'email';
  readonly name: string;
  readonly actions = EMAIL_ACTIONS;
  readonly concurrency: number;
  readonly rateLimit?: RateLimit;
  private readonly redactor: SecretRedactor;
  private readonly endpoint: string;

  constructor(private readonly options: EmailConnectorOptions) {
    this.name = options.name;
    this.concurrency = options.concurrency;
    if (options.rateLimit) this.rateLimit = options.rateLimit;
    this.redactor = new SecretRedactor([
      ...options.secretValues,
      ...(options.password === undefined ? [] : [options.password]),
    ]);
    this.endpoint = `smtp://${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.port}`;
  }

  async invoke(call: ConnectorCall): Promise<ConnectorResult> {
    const where = `${this.name}.${call.action}`;
    const mail = this.mail(call, where);
    const messageId = `<${messageIdPart(call.idempotencyKey)}@warden>`;
    const { MailComposer, SMTPConnection } = await loadMailer();
    const composer = new MailComposer({
      from: this.options.from,
      to: [...mail.to],
      ...(mail.cc.length === 0 ? {} : { cc: [...mail.cc] }),
      subject: mail.subject,
      text: mail.text,
      ...(mail.html === undefined ? {} : { html: mail.html }),
      messageId,
      disableFileAccess: true,
      disableUrlAccess: true,
    });
    const node = composer.compile();
    const envelope = node.getEnvelope();
    let raw: Buffer;
    try {
      raw = await node.build();
    } catch (error) {
      throw new ConnectorError(
        'invalid_input',
        `${where}: cannot build the message: ${this.redact(errorText(error))}`,
      );
    }

    const startedAt = new Date();
    const started = performance.now();
    const base = {
      startedAt: startedAt.toISOString(),
      method: 'SMTP',
      url: this.endpoint,
      requestHeaders: this.recordedHeaders(mail, messageId),
      requestBody: this.recordedText(mail.text),
    };
    const elapsed = (): number => Math.round(performance.now() - started);
    const sendDeadline = deadline(this.options.timeoutMs);
    const signal = AbortSignal.any([call.signal, sendDeadline.signal]);

    try {
      const info = await this.deliver(
        SMTPConnection,
        { from: envelope.from === false ? '' : envelope.from, to: envelope.to },
        raw,
        signal,
      );
      const response = this.redact(info.response);
      const exchange: WireExchange = {
        ...base,
        ...replyStatus(info.response),
        responseBody: response,
        durationMs: elapsed(),
      };
      return {
        output: {
          message_id: messageId,
          accepted: info.accepted,
          rejected: info.rejected,
          response,
        },
        exchange,
      };
    } catch (error) {
      const failure =
        error instanceof SmtpFailure ? error : new SmtpFailure(asSmtpError(error), 'connect');
      const reply = failure.original.response;
      const exchange: WireExchange = {
        ...base,
        ...(reply === undefined ? {} : { ...replyStatus(reply), responseBody: this.redact(reply) }),
        durationMs: elapsed(),
      };
      throw this.error(where, failure, exchange, call.signal.aborted);
    } finally {
      sendDeadline.clear();
    }
  }

  /** SMTP cannot say whether a message arrived, and sending it again would deliver it twice. */
  reconcile(_call: ConnectorCall): Promise<Reconciliation> {
    return Promise.resolve({ state: 'unknown' });
  }

  private mail(call: ConnectorCall, where: string): Mail {
    const input = call.input as Record<string, unknown>;
    if (call.action === NOTIFY_ACTION) {
      const message = String(input.message);
      const toText = typeof input.to === 'string' ? input.to.trim() : '';
      let to: readonly string[];
      if (toText === '') {
        to = this.options.defaultTo;
        if (to.length === 0) {
          throw new ConnectorError(
            'invalid_input',
            `${where}: no recipient: give "to" or set default_to on the connector`,
          );
        }
      } else {
        // Kept as written (names included) once every entry is known to be an address.
        if (parseAddresses(toText) === undefined) invalidAddress(where, 'to');
        to = [toText];
      }
      return { to, cc: [], subject: subjectOf(message), text: message };
    }
    if (call.action === EMAIL_SEND_ACTION) {
      const list = (field: 'to' | 'cc'): string[] =>
        ((input[field] as string[] | undefined) ?? []).flatMap((entry) =>
          parseAddresses(entry) === undefined ? invalidAddress(where, field) : [entry],
        );
      return {
        to: list('to'),
        cc: list('cc'),
        subject: String(input.subject),
        text: String(input.text),
        ...(typeof input.html === 'string' ? { html: input.html } : {}),
      };
    }
    throw new ConnectorError('unknown_action', `${this.name}: no action "${call.action}"`);
  }

  /**
   * One SMTP session. Rejects with an `SmtpFailure` saying how far it got:
   * before `send` nothing can have been delivered.
   */
  private deliver(
    SMTPConnection: Mailer['SMTPConnection'],
    envelope: { from: string; to: string[] },
    raw: Buffer,
    signal: AbortSignal,
  ): Promise<{ accepted: string[]; rejected: string[]; response: string }> {
    const { options } = this;
    let phase: Phase = 'connect';
    return new Promise((resolve, reject) => {
      const connection = new SMTPConnection({
        host: options.host,
        port: options.port,
        secure: options.secure,
        requireTLS: !options.secure && options.starttls,
        ignoreTLS: !options.secure && !options.starttls,
        connectionTimeout: options.timeoutMs,
        greetingTimeout: options.timeoutMs,
        socketTimeout: options.timeoutMs,
        socketCloseTimeout: 0,
        logger: false,
        ...(options.tls === undefined ? {} : { tls: options.tls }),
      });
      let settled = false;
      const finish = (
        error: unknown,
        info?: { accepted: string[]; rejected: string[]; response: string },
      ): void => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        if (error !== undefined || info === undefined) {
          connection.close();
          reject(new SmtpFailure(asSmtpError(error), phase));
          return;
        }
        connection.quit();
        resolve(info);
      };
      const onAbort = (): void => {
        const aborted = new Error('aborted') as SmtpError;
        aborted.name = 'AbortError';
        aborted.code = 'EABORT';
        finish(aborted);
      };
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      // After the session settles the connection may still report its closing; that is ignored.
      connection.on('error', (error: unknown) => finish(error));
      connection.once('end', () => finish(new Error('the server closed the connection')));

      const send = (): void => {
        phase = 'send';
        connection.send(envelope, raw, (error, info) => {
          if (error) finish(error);
          else if (info === undefined) finish(new Error('no reply to the message'));
          else
            finish(undefined, {
              accepted: info.accepted,
              rejected: info.rejected,
              response: info.response,
            });
        });
      };
      connection.connect((error) => {
        if (error) {
          finish(error);
          return;
        }
        if (options.username === undefined || options.password === undefined) {
          send();
          return;
        }
        phase = 'auth';
        connection.login({ user: options.username, pass: options.password }, (loginError) => {
          if (loginError) finish(loginError);
          else send();
        });
      });
    });
  }

  /**
   * `timeout` for an abort or no answer; `unauthorized` for AUTH refused
   * or required (535, 534, 530); `misconfigured` for STARTTLS that cannot
   * be had, a certificate that cannot be verified, or AUTH that needs
   * encryption (538); 4xx replies `unavailable` (transient,
   * retried); 5xx replies, bad recipients included, `rejected`; connection
   * failures `unavailable`. A failure once the message may have reached the
   * server (a timeout or a dropped connection while sending it) is not
   * retried, since SMTP does not deduplicate.
   */
  private error(
    where: string,
    failure: SmtpFailure,
    exchange: WireExchange,
    deadlinePassed: boolean,
  ): ConnectorError {
    const error = failure.original;
    const reply = error.responseCode;
    const detail = this.redact(
      (error.response ?? error.message).replace(/\s+/g, ' ').trim().slice(0, 300),
    );
    const common = { exchange, ...(reply === undefined ? {} : { status: reply }) };
    const fail = (code: ConnectorErrorCode, message: string, retryable?: boolean): ConnectorError =>
      new ConnectorError(code, `${where}: ${message}`, {
        ...common,
        ...(retryable === undefined ? {} : { retryable }),
      });
    // Without a reply, a failure while the message was being sent leaves its fate unknown.
    const maybeDelivered =
      failure.phase === 'send' && reply === undefined && error.code !== 'EENVELOPE';
    const notRepeated = maybeDelivered
      ? ' (the message may have been delivered, so it is not sent again)'
      : '';

    if (error.code === 'EABORT' || error.code === 'ETIMEDOUT' || error.name === 'AbortError') {
      const reason = deadlinePassed
        ? 'the step deadline passed before the server answered'
        : `no answer within ${this.options.timeoutMs} ms`;
      return fail('timeout', `${reason} ${PHASES[failure.phase]}${notRepeated}`, !maybeDelivered);
    }
    if (error.code === 'ETLS') {
      return fail(
        'misconfigured',
        `cannot secure the connection to ${this.endpoint} with STARTTLS (the server does not offer it, or its certificate is not trusted): ${detail}`,
      );
    }
    const systemCode = error.originalCode ?? error.code;
    if (systemCode !== undefined && TLS_CERTIFICATE_ERROR.test(systemCode)) {
      return fail(
        'misconfigured',
        `cannot verify the TLS certificate of ${this.endpoint} (${systemCode}): nothing was sent`,
      );
    }
    if (error.code === 'ENOAUTH') {
      return fail('misconfigured', `the server asks for credentials: set username and password`);
    }
    if (reply === 538) {
      return fail('misconfigured', `the server requires encryption before AUTH: ${detail}`);
    }
    if (
      (error.code === 'EAUTH' && (reply === undefined || reply >= 500)) ||
      reply === 530 ||
      reply === 534 ||
      reply === 535
    ) {
      return fail('unauthorized', `the server refused the credentials: ${detail}`);
    }
    if (reply !== undefined && reply >= 400 && reply < 500) {
      return fail('unavailable', `the server deferred the message (SMTP ${detail})`, true);
    }
    if (reply !== undefined && reply >= 500) {
      const what =
        error.code === 'EENVELOPE'
          ? 'refused the sender or every recipient'
          : 'refused the message';
      return fail('rejected', `the server ${what} (SMTP ${detail})`);
    }
    if (error.code === 'EENVELOPE') return fail('rejected', `the envelope is not valid: ${detail}`);
    return fail(
      'unavailable',
      `cannot deliver through ${this.endpoint} (${systemCode ?? detail})${notRepeated}`,
      !maybeDelivered,
    );
  }

  private recordedHeaders(mail: Mail, messageId: string): Record<string, string> {
    return Object.fromEntries(
      Object.entries({
        From: this.options.from,
        To: mail.to.join(', '),
        ...(mail.cc.length === 0 ? {} : { Cc: mail.cc.join(', ') }),
        Subject: mail.subject,
        'Message-ID': messageId,
        ...(mail.html === undefined ? {} : { 'Content-Type': 'multipart/alternative' }),
      }).map(([name, value]) => [name, this.redact(value)]),
    );
  }

  private recordedText(text: string): string {
    const limit = this.options.recordedBodyBytes ?? 16 * 1024;
    const redacted = this.redact(text);
    const bytes = Buffer.from(redacted, 'utf8');
    if (bytes.byteLength <= limit) return redacted;
    return `${new TextDecoder().decode(bytes.subarray(0, limit)).replace(/\uFFFD$/, '')}…`;
  }

  private redact(text: string): string {
    return this.redactor.redact(text);
  }
}

/** Node's codes for a certificate that cannot be verified (expired, self-signed, wrong name). */
const TLS_CERTIFICATE_ERROR =
  /^(CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED|SELF_SIGNED_CERT|ERR_TLS_CERT|HOSTNAME_MISMATCH)/;

/** The reply code of `250 2.0.0 Ok: queued as ABC`, as the exchange status. */
function replyStatus(reply: string): { status?: number } {
  const match = /^(\d{3})/.exec(reply.trim());
  return match ? { status: Number(match[1]) } : {};
}

/** The subject of a `notify`: its first line, prefixed and cut. */
function subjectOf(message: string): string {
  const firstLine = message.trim().split(/\r?\n/, 1)[0] ?? '';
  const characters = [...firstLine];
  const cut = characters.length > 120 ? `${characters.slice(0, 119).join('')}…` : firstLine;
  return `${EMAIL_DEFAULTS.subjectPrefix}${cut}`;
}

/**
 * The left part of a Message-ID (RFC 5322 dot-atom text): the key as is
 * when it fits, with other characters replaced, so one key always gives one
 * Message-ID.
 */
export function messageIdPart(key: string): string {
  const text = key
    .replace(/[^A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]/g, '_')
    .replace(/\.{2,}/g, '.')
    .replace(/^\.|\.$/g, '_');
  return text === '' ? '_' : text.slice(0, 200);
}

function invalidAddress(where: string, field: string): never {
  throw new ConnectorError(
    'invalid_input',
    `${where}: input.${field} must be e-mail addresses (a@x.example or Name <a@x.example>)`,
  );
}

function asSmtpError(error: unknown): SmtpError {
  if (error instanceof SmtpFailure) return error.original;
  if (error instanceof Error) return error;
  return new Error(String(error));
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
