import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import {
  configError,
  connectorFailure,
  invokeAndRecord,
  loadConnectorFromYaml,
  numberedCalls,
} from '../../../test/support/connector-test-kit.js';
import type { WardenError } from '../../core/errors.js';
import type { Connector, ConnectorCall, ConnectorResult, JsonValue } from '../connector.js';
import { guardConnector } from '../guarded-connector.js';
import {
  createEmailConnector,
  messageIdPart,
  parseAddresses,
  type EmailConnectorOptions,
} from './email-connector.js';
import { EMAIL_CONNECTOR_TYPE } from './email-connector-config.js';

const PASSWORD = 'smtp-pass-5f1d0c7a9b';
const USERNAME = 'warden@bank.example';

// ---------------------------------------------------------------------------
// A real SMTP server on 127.0.0.1 (the smtp-server package), recording what arrives.

interface Received {
  readonly from: string;
  readonly to: string[];
  readonly raw: string;
  readonly secure: boolean;
  readonly user: unknown;
}

interface LocalSmtp {
  readonly port: number;
  readonly received: Received[];
  /** Connections opened, accepted or not. */
  connections: number;
  close(): Promise<void>;
}

type SmtpHandlers = Pick<SMTPServerOptions, 'onAuth' | 'onRcptTo' | 'onMailFrom'> & {
  /** Answers DATA: undefined accepts ("250 OK: queued as …"), an error refuses. */
  onMessage?: (received: Received) => (Error & { responseCode?: number }) | 'hang' | undefined;
};

const servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function startSmtp(
  options: Partial<SMTPServerOptions> = {},
  handlers: SmtpHandlers = {},
): Promise<LocalSmtp> {
  const received: Received[] = [];
  const local = { connections: 0 };
  const server = new SMTPServer({
    logger: false,
    disableReverseLookup: true,
    authOptional: true,
    allowInsecureAuth: true,
    ...options,
    ...(handlers.onAuth ? { onAuth: handlers.onAuth } : {}),
    ...(handlers.onRcptTo ? { onRcptTo: handlers.onRcptTo } : {}),
    ...(handlers.onMailFrom ? { onMailFrom: handlers.onMailFrom } : {}),
    onConnect(_session, callback) {
      local.connections += 1;
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const message: Received = {
          from: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          raw: Buffer.concat(chunks).toString('utf8'),
          secure: session.secure,
          user: session.user,
        };
        const answer = handlers.onMessage?.(message);
        if (answer === 'hang') return;
        if (answer !== undefined) {
          callback(answer);
          return;
        }
        received.push(message);
        callback(null, 'OK: queued as 4F2A9C');
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  const handle = {
    port,
    received,
    get connections() {
      return local.connections;
    },
    set connections(value: number) {
      local.connections = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const connection of server.connections) connection.close();
        server.close(() => resolve());
      }),
  };
  servers.push(handle);
  return handle;
}

/** A TCP server that says nothing, or one line, to provoke timeouts and refusals. */
async function startRaw(onSocket: (socket: Socket) => void): Promise<number> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push({
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  });
  return (server.address() as AddressInfo).port;
}

function smtpError(responseCode: number, message: string): Error & { responseCode: number } {
  return Object.assign(new Error(message), { responseCode });
}

/** Header value of a received message (unfolded). */
function header(raw: string, name: string): string | undefined {
  const head = raw.split(/\r?\n\r?\n/, 1)[0] ?? '';
  const unfolded = head.replace(/\r?\n[ \t]+/g, ' ');
  const line = unfolded
    .split(/\r?\n/)
    .find((entry) => entry.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line?.slice(name.length + 1).trim();
}

// ---------------------------------------------------------------------------
// Connectors

function email(port: number, overrides: Partial<EmailConnectorOptions> = {}): Connector {
  return guardConnector(
    createEmailConnector({
      name: 'mail',
      host: '127.0.0.1',
      port,
      secure: false,
      starttls: false,
      from: 'Warden <warden@bank.example>',
      defaultTo: ['secops@bank.example'],
      timeoutMs: 2000,
      concurrency: 2,
      secretValues: [],
      ...overrides,
    }),
  );
}

function loadEmail(
  yaml: string,
  secrets: Record<string, string> = { SMTP_PASSWORD: PASSWORD },
): Connector {
  return loadConnectorFromYaml(`connectors:\n  mail:\n    type: email\n${yaml}`, {
    secrets,
    types: [EMAIL_CONNECTOR_TYPE],
    name: 'mail',
  });
}

function loadError(yaml: string, secrets?: Record<string, string>): WardenError {
  return configError(() => loadEmail(yaml, secrets));
}

const call = numberedCalls('run_01HZX/3/tell_owner/');

/** Every result and error of the suite, for the no-secret check. */
const recorded: unknown[] = [];

function invoke(connector: Connector, request: ConnectorCall): Promise<ConnectorResult> {
  return invokeAndRecord(recorded, connector, request);
}

// ---------------------------------------------------------------------------

describe('the email connector', () => {
  it('sends a notify: envelope, headers, Message-ID from the key, body; records the exchange', async () => {
    const smtp = await startSmtp();
    const mail = email(smtp.port);
    const request = call('notify', {
      message: 'Case #4 contained\nThe source range is blocked at the gateway.',
      to: 'ml-retail@bank.example',
    });
    const result = await invoke(mail, request);

    const [message] = smtp.received;
    expect(message?.from).toBe('warden@bank.example');
    expect(message?.to).toEqual(['ml-retail@bank.example']);
    const raw = message?.raw ?? '';
    expect(header(raw, 'From')).toBe('Warden <warden@bank.example>');
    expect(header(raw, 'To')).toBe('ml-retail@bank.example');
    expect(header(raw, 'Subject')).toBe('[Warden] Case #4 contained');
    expect(header(raw, 'Message-ID')).toBe(`<${request.idempotencyKey}@warden>`);
    expect(raw).toContain('The source range is blocked at the gateway.');

    expect(result.output).toEqual({
      message_id: `<${request.idempotencyKey}@warden>`,
      accepted: ['ml-retail@bank.example'],
      rejected: [],
      response: '250 OK: queued as 4F2A9C',
    });
    expect(result.exchange).toMatchObject({
      method: 'SMTP',
      url: `smtp://127.0.0.1:${smtp.port}`,
      requestHeaders: {
        From: 'Warden <warden@bank.example>',
        To: 'ml-retail@bank.example',
        Subject: '[Warden] Case #4 contained',
        'Message-ID': `<${request.idempotencyKey}@warden>`,
      },
      requestBody: 'Case #4 contained\nThe source range is blocked at the gateway.',
      status: 250,
      responseBody: '250 OK: queued as 4F2A9C',
    });
    expect(result.exchange?.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('sends a notify without `to` to default_to, and a list in `to` to each address', async () => {
    const smtp = await startSmtp();
    const mail = email(smtp.port);
    await invoke(mail, call('notify', { message: 'hello' }));
    await invoke(
      mail,
      call('notify', { message: 'hello', to: 'a@bank.example, Bo <b@bank.example>' }),
    );
    expect(smtp.received.map((message) => message.to)).toEqual([
      ['secops@bank.example'],
      ['a@bank.example', 'b@bank.example'],
    ]);
    expect(header(smtp.received[1]?.raw ?? '', 'To')).toBe('a@bank.example, Bo <b@bank.example>');
  });

  it('refuses a notify with no recipient, or one that is not an address, before connecting', async () => {
    const smtp = await startSmtp();
    const noDefault = email(smtp.port, { defaultTo: [] });
    const none = await connectorFailure(invoke(noDefault, call('notify', { message: 'hello' })));
    expect(none).toMatchObject({ code: 'invalid_input', retryable: false });
    expect(none.message).toContain('give "to" or set default_to');
    const bad = await connectorFailure(
      invoke(email(smtp.port), call('notify', { message: 'x', to: 'the ML team' })),
    );
    expect(bad).toMatchObject({ code: 'invalid_input' });
    expect(smtp.connections).toBe(0);
  });

  it('sends a message with cc and an HTML part', async () => {
    const smtp = await startSmtp();
    const result = await invoke(
      email(smtp.port),
      call('send', {
        to: ['owner@bank.example'],
        cc: ['secops@bank.example'],
        subject: 'Case #9: model rollback',
        text: 'Rolled back fraud-scorer to v12.',
        html: '<p>Rolled back <b>fraud-scorer</b> to v12.</p>',
      }),
    );
    const raw = smtp.received[0]?.raw ?? '';
    expect(smtp.received[0]?.to).toEqual(['owner@bank.example', 'secops@bank.example']);
    expect(header(raw, 'Cc')).toBe('secops@bank.example');
    expect(header(raw, 'Subject')).toBe('Case #9: model rollback');
    expect(header(raw, 'Content-Type')).toMatch(/^multipart\/alternative/);
    expect(raw).toContain('Rolled back fraud-scorer to v12.');
    expect(raw).toContain('<b>fraud-scorer</b>');
    expect(result.exchange?.requestHeaders).toMatchObject({ Cc: 'secops@bank.example' });
    expect(result.exchange?.requestBody).toBe('Rolled back fraud-scorer to v12.');
  });

  it('derives the same Message-ID from the same key, so receivers can drop a duplicate', async () => {
    const smtp = await startSmtp();
    const mail = email(smtp.port);
    const first = call('notify', { message: 'hello' }, { idempotencyKey: 'run 7/1/notify/-' });
    await invoke(mail, first);
    await invoke(mail, { ...first, attempt: 2 });
    const ids = smtp.received.map((message) => header(message.raw, 'Message-ID'));
    expect(ids).toEqual(['<run_7/1/notify/-@warden>', '<run_7/1/notify/-@warden>']);
    expect(messageIdPart('a<b>@c..d.')).toBe('a_b__c.d_');
  });

  it('logs in with the credentials and keeps them out of every record', async () => {
    const logins: string[] = [];
    const smtp = await startSmtp(
      { authOptional: false },
      {
        onAuth(auth, _session, callback) {
          logins.push(`${auth.method} ${auth.username ?? ''}`);
          if (auth.username === USERNAME && auth.password === PASSWORD) {
            callback(null, { user: auth.username });
          } else {
            callback(smtpError(535, '5.7.8 Authentication credentials invalid'));
          }
        },
      },
    );
    const result = await invoke(
      loadEmail(`    host: 127.0.0.1
    port: ${smtp.port}
    starttls: false
    allow_insecure: true
    username: ${USERNAME}
    password: \${secret:SMTP_PASSWORD}
    from: warden@bank.example
`),
      call('notify', { message: 'hello', to: 'owner@bank.example' }),
    );
    expect(result.output).toMatchObject({ accepted: ['owner@bank.example'] });
    expect(smtp.received[0]?.user).toBe(USERNAME);
    expect(logins).toEqual([`PLAIN ${USERNAME}`]);
    expect(JSON.stringify(result)).not.toContain(PASSWORD);
  });

  it('reports refused credentials (535) as unauthorized, not retried, nothing sent', async () => {
    const smtp = await startSmtp(
      { authOptional: false },
      {
        onAuth: (_auth, _session, callback) =>
          callback(smtpError(535, `5.7.8 Authentication failed for ${PASSWORD}`)),
      },
    );
    const error = await connectorFailure(
      invoke(
        email(smtp.port, { username: USERNAME, password: PASSWORD, secretValues: [PASSWORD] }),
        call('notify', { message: 'hello' }),
      ),
    );
    expect(error).toMatchObject({ code: 'unauthorized', retryable: false, status: 535 });
    expect(error.message).toContain('refused the credentials');
    expect(error.message).not.toContain(PASSWORD);
    expect(error.exchange?.responseBody).toContain('[redacted]');
    expect(smtp.received).toHaveLength(0);
  });

  it('reports a missing login as unauthorized (530)', async () => {
    const smtp = await startSmtp({ authOptional: false });
    const error = await connectorFailure(
      invoke(email(smtp.port), call('notify', { message: 'hello' })),
    );
    expect(error).toMatchObject({ code: 'unauthorized', status: 530 });
  });

  it('upgrades with STARTTLS before sending, when the server offers it', async () => {
    const smtp = await startSmtp();
    const mail = email(smtp.port, { starttls: true, tls: { rejectUnauthorized: false } });
    await invoke(mail, call('notify', { message: 'over TLS' }));
    expect(smtp.received[0]?.secure).toBe(true);
  });

  it('refuses to send in clear when STARTTLS is required and not offered', async () => {
    const smtp = await startSmtp({ disabledCommands: ['STARTTLS'] });
    const error = await connectorFailure(
      invoke(
        email(smtp.port, {
          starttls: true,
          username: USERNAME,
          password: PASSWORD,
          secretValues: [PASSWORD],
        }),
        call('notify', { message: 'secret plans' }),
      ),
    );
    expect(error).toMatchObject({ code: 'misconfigured', retryable: false });
    expect(error.message).toContain('STARTTLS');
    expect(smtp.received).toHaveLength(0);
  });

  it("refuses a server certificate it cannot verify (the test server's is self-signed)", async () => {
    const smtp = await startSmtp();
    const error = await connectorFailure(
      invoke(email(smtp.port, { starttls: true }), call('notify', { message: 'hello' })),
    );
    expect(error).toMatchObject({ code: 'misconfigured', retryable: false });
    expect(error.message).toContain('cannot verify the TLS certificate');
    expect(smtp.received).toHaveLength(0);
  });

  it('speaks TLS from the first byte with secure: true', async () => {
    const smtp = await startSmtp({ secure: true });
    await invoke(
      email(smtp.port, { secure: true, tls: { rejectUnauthorized: false } }),
      call('notify', { message: 'implicit TLS' }),
    );
    expect(smtp.received[0]?.secure).toBe(true);
  });

  it('reports 4xx replies as unavailable and retryable: the server defers the message', async () => {
    const smtp = await startSmtp(
      {},
      {
        onRcptTo: (address, _session, callback) =>
          callback(
            address.address.startsWith('busy')
              ? smtpError(451, '4.3.0 Try again later')
              : undefined,
          ),
        onMessage: (message) =>
          message.to.includes('full@bank.example')
            ? smtpError(452, '4.3.1 Insufficient system storage')
            : undefined,
      },
    );
    const mail = email(smtp.port);
    const envelope = await connectorFailure(
      invoke(mail, call('notify', { message: 'x', to: 'busy@bank.example' })),
    );
    expect(envelope).toMatchObject({ code: 'unavailable', retryable: true, status: 451 });
    expect(envelope.message).toContain('deferred');
    expect(envelope.exchange).toMatchObject({
      status: 451,
      responseBody: '451 4.3.0 Try again later',
    });
    const data = await connectorFailure(
      invoke(mail, call('notify', { message: 'x', to: 'full@bank.example' })),
    );
    expect(data).toMatchObject({ code: 'unavailable', retryable: true, status: 452 });
  });

  it('reports 5xx replies and bad recipients as rejected, and delivers to the good ones', async () => {
    const smtp = await startSmtp(
      {},
      {
        onRcptTo: (address, _session, callback) =>
          callback(
            address.address.startsWith('nobody') ? smtpError(550, '5.1.1 No such user') : undefined,
          ),
        onMessage: (message) =>
          message.to.includes('spam@bank.example')
            ? smtpError(554, '5.7.1 Message refused')
            : undefined,
      },
    );
    const mail = email(smtp.port);
    const bad = await connectorFailure(
      invoke(mail, call('notify', { message: 'x', to: 'nobody@bank.example' })),
    );
    expect(bad).toMatchObject({ code: 'rejected', retryable: false, status: 550 });
    expect(bad.message).toContain('refused the sender or every recipient');
    const refused = await connectorFailure(
      invoke(mail, call('notify', { message: 'x', to: 'spam@bank.example' })),
    );
    expect(refused).toMatchObject({ code: 'rejected', retryable: false, status: 554 });

    const partial = await invoke(
      mail,
      call('send', { to: ['nobody@bank.example', 'owner@bank.example'], subject: 's', text: 't' }),
    );
    expect(partial.output).toMatchObject({
      accepted: ['owner@bank.example'],
      rejected: ['nobody@bank.example'],
    });
    expect(smtp.received.map((message) => message.to)).toEqual([['owner@bank.example']]);
  });

  it('retries a server that never greets (nothing sent), not one that stalls after the message', async () => {
    const silent = await startRaw(() => undefined);
    const started = performance.now();
    const greeting = await connectorFailure(
      invoke(email(silent, { timeoutMs: 300 }), call('notify', { message: 'x' })),
    );
    expect(greeting).toMatchObject({ code: 'timeout', retryable: true });
    expect(performance.now() - started).toBeLessThan(3000);
    expect(greeting.exchange?.status).toBeUndefined();

    const smtp = await startSmtp({}, { onMessage: () => 'hang' });
    const stalled = await connectorFailure(
      invoke(email(smtp.port, { timeoutMs: 1000 }), call('notify', { message: 'x' })),
    );
    expect(stalled).toMatchObject({ code: 'timeout', retryable: false });
    expect(stalled.message).toContain('may have been delivered');
  });

  it("stops at the call's deadline", async () => {
    const smtp = await startSmtp({}, { onMessage: () => 'hang' });
    const error = await connectorFailure(
      invoke(
        email(smtp.port),
        call('notify', { message: 'x' }, { signal: AbortSignal.timeout(1000) }),
      ),
    );
    expect(error).toMatchObject({ code: 'timeout', retryable: false });
    expect(error.message).toContain('deadline');
  });

  it('retries a refused connection and a server that is too busy to greet (421)', async () => {
    const closed = await startRaw(() => undefined);
    await servers.pop()?.close();
    const refused = await connectorFailure(invoke(email(closed), call('notify', { message: 'x' })));
    expect(refused).toMatchObject({ code: 'unavailable', retryable: true });
    expect(refused.message).toContain('ECONNREFUSED');

    const busy = await startRaw((socket) => socket.end('421 4.3.2 Too busy, try later\r\n'));
    const error = await connectorFailure(invoke(email(busy), call('notify', { message: 'x' })));
    expect(error).toMatchObject({ code: 'unavailable', retryable: true, status: 421 });
  });

  it('answers reconcile with unknown, without connecting: SMTP cannot deduplicate', async () => {
    const smtp = await startSmtp();
    const answer = await email(smtp.port).reconcile?.(call('notify', { message: 'x' }));
    expect(answer?.state).toBe('unknown');
    expect(smtp.connections).toBe(0);
  });

  it('declares notify and send as writes with strict schemas, and rejects invalid input', async () => {
    const mail = email(1);
    expect(Object.keys(mail.actions).sort()).toEqual(['notify', 'send']);
    for (const spec of Object.values(mail.actions)) {
      expect(spec.effect).toBe('write');
      expect(spec.inputSchema.additionalProperties).toBe(false);
    }
    for (const [action, input] of [
      ['notify', { message: 42 }],
      ['send', { to: [], subject: 's', text: 't' }],
      ['send', { to: ['a@bank.example'], subject: 's' }],
      ['send', { to: ['a@bank.example'], subject: 's', text: 't', bcc: ['b@bank.example'] }],
    ] as [string, JsonValue][]) {
      expect(await connectorFailure(invoke(mail, call(action, input)))).toMatchObject({
        code: 'invalid_input',
      });
    }
  });

  it('truncates the recorded text, not the message', async () => {
    const smtp = await startSmtp();
    const text = `${'a'.repeat(100)}é${'b'.repeat(100)}`;
    const result = await invoke(
      email(smtp.port, { recordedBodyBytes: 101 }),
      call('send', { to: ['x@bank.example'], subject: 's', text }),
    );
    expect(result.exchange?.requestBody).toBe(`${'a'.repeat(100)}…`);
    expect(smtp.received[0]?.raw).toContain('b'.repeat(50));
  });

  it('never recorded the password in any result or error', () => {
    expect(recorded.length).toBeGreaterThan(15);
    expect(JSON.stringify(recorded)).not.toContain(PASSWORD);
  });
});

describe('email addresses', () => {
  it('reads one address, a named address and lists', () => {
    expect(parseAddresses('a@bank.example')).toEqual(['a@bank.example']);
    expect(parseAddresses('Warden <warden@bank.example>')).toEqual(['warden@bank.example']);
    expect(parseAddresses('a@bank.example, B <b@bank.example>')).toEqual([
      'a@bank.example',
      'b@bank.example',
    ]);
    expect(parseAddresses('root@localhost')).toEqual(['root@localhost']);
    for (const text of ['', 'the ML team', 'a@', '@b.example', 'a@b']) {
      expect(parseAddresses(text)).toBeUndefined();
    }
  });
});

describe('email connectors.yaml', () => {
  const base = `    host: smtp.bank.example\n    from: Warden <warden@bank.example>\n`;

  it('defaults to port 587 with STARTTLS required, a 10s timeout and 2 connections', () => {
    const mail = loadEmail(base);
    expect(mail.type).toBe('email');
    expect(mail.concurrency).toBe(2);
    expect(mail.rateLimit).toBeUndefined();
  });

  it('sends through a plain local relay only with allow_insecure', async () => {
    const smtp = await startSmtp();
    const mail = loadEmail(`    host: 127.0.0.1
    port: ${smtp.port}
    starttls: false
    allow_insecure: true
    from: Warden <warden@bank.example>
    default_to: [secops@bank.example, "Owner <owner@bank.example>"]
    timeout: 2s
    rate_limit: 10/s
`);
    expect(mail.rateLimit).toEqual({ requests: 10, intervalMs: 1000 });
    await invoke(mail, call('notify', { message: 'hi' }));
    expect(smtp.received[0]?.to).toEqual(['secops@bank.example', 'owner@bank.example']);
    expect(smtp.received[0]?.secure).toBe(false);
    expect(loadError(`${base}    starttls: false\n`).message).toMatch(
      /connectors\.mail\.starttls false sends mail \(and credentials\) unencrypted: set allow_insecure: true/,
    );
  });

  it('requires STARTTLS by default: a server without it is refused', async () => {
    const smtp = await startSmtp({ disabledCommands: ['STARTTLS'] });
    const mail = loadEmail(
      `    host: 127.0.0.1\n    port: ${smtp.port}\n    from: warden@bank.example\n`,
    );
    expect(
      await connectorFailure(invoke(mail, call('notify', { message: 'x', to: 'a@bank.example' }))),
    ).toMatchObject({
      code: 'misconfigured',
    });
  });

  it('uses TLS from the start on port 465', async () => {
    const smtp = await startSmtp({ disabledCommands: ['STARTTLS'] });
    // A plain server on a port configured as secure: the TLS handshake fails, nothing is sent in clear.
    const mail = loadEmail(
      `    host: 127.0.0.1\n    port: ${smtp.port}\n    secure: true\n    timeout: 500ms\n    from: warden@bank.example\n`,
    );
    const error = await connectorFailure(
      invoke(mail, call('notify', { message: 'x', to: 'a@bank.example' })),
    );
    expect(['timeout', 'unavailable', 'misconfigured']).toContain(error.code);
    expect(smtp.received).toHaveLength(0);
    expect(loadError(`${base}    port: 465\n    starttls: true\n`).message).toMatch(
      /starttls does not apply with secure: true/,
    );
  });

  it('checks the credentials, from and default_to', () => {
    expect(loadError(`${base}    username: a\n    password: hunter2hunter2\n`).message).toMatch(
      /password must be a \$\{secret:NAME\} reference/,
    );
    expect(
      loadError(`${base}    username: a\n    password: hunter2hunter2\n`).message,
    ).not.toContain('hunter2');
    expect(loadError(`${base}    username: a\n`).message).toMatch(
      /password is required with the other/,
    );
    expect(loadError(`${base}    password: \${secret:SMTP_PASSWORD}\n`).message).toMatch(
      /username is required with the other/,
    );
    expect(loadError(`    host: smtp.bank.example\n    from: Warden\n`).message).toMatch(
      /from must be one address/,
    );
    expect(loadError(`${base}    default_to: [secops]\n`).message).toMatch(
      /default_to\[0\] is not an e-mail address/,
    );
    expect(
      loadError(`    host: smtp://smtp.bank.example\n    from: a@bank.example\n`).message,
    ).toMatch(/host must be a host name or IP address/);
    expect(loadError(`${base}    port: 70000\n`).message).toMatch(/port must be at most 65535/);
    expect(loadError(`${base}    secure: yes please\n`).message).toMatch(
      /secure must be true or false/,
    );
    expect(loadError(`${base}    tls: {}\n`).message).toMatch(/tls is not a known key/);
  });
});
