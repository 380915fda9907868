/**
 * The Slack messages Warden posts, as Block Kit JSON. Pure functions, so the
 * docs and tests can show exactly what goes over the wire. Limits are
 * Slack's (https://api.slack.com/reference/block-kit/blocks): a longer text
 * is cut with "…" instead of having Slack reject the whole message.
 */

/** `{ message, to? }`, what `notify` steps send. */
export interface SlackNotifyInput {
  readonly message: string;
  readonly to?: string;
}

/** A case, as `post_case` takes it (field names as playbook authors write them). */
export interface SlackCaseInput {
  readonly case_number: number;
  readonly case_id?: string;
  readonly title: string;
  readonly severity: string;
  readonly tier?: number | null;
  readonly business_unit?: string | null;
  readonly model?: string | null;
  readonly status?: string | null;
  readonly phase?: string | null;
  readonly summary?: string | null;
  readonly techniques?: readonly string[];
  /** A pending approval: the message gets Approve / Deny link buttons. */
  readonly approval?: { readonly id: string; readonly message: string };
}

export type SlackBlock = { readonly type: string; readonly [key: string]: unknown };

/** The JSON body of an incoming-webhook POST. */
export interface SlackMessage {
  /** The fallback shown in notifications and by clients that cannot render blocks. */
  readonly text: string;
  readonly blocks: readonly SlackBlock[];
}

export const SLACK_LIMITS = Object.freeze({
  headerText: 150,
  sectionText: 3000,
  fieldText: 2000,
  buttonText: 75,
  fallbackText: 3000,
  /** Techniques linked in the context block; more are counted, not listed. */
  techniques: 20,
});

const TECHNIQUE_ID = /^AML\.T\d{4}(\.\d{3})?$/;

/** `notify`: the message, and who it is for as a context line (a mention when `to` is a Slack id). */
export function slackNotifyMessage(input: SlackNotifyInput): SlackMessage {
  const message = escapeMrkdwn(input.message);
  const to =
    input.to === undefined || input.to.trim() === '' ? undefined : slackRecipient(input.to);
  const blocks: SlackBlock[] = [
    { type: 'section', text: mrkdwn(clip(message, SLACK_LIMITS.sectionText)) },
  ];
  if (to !== undefined) blocks.push({ type: 'context', elements: [mrkdwn(`For ${to}`)] });
  return {
    text: clip(to === undefined ? message : `${to}: ${message}`, SLACK_LIMITS.fallbackText),
    blocks,
  };
}

/**
 * `post_case`: a header, the case's fields, its ATLAS techniques, and
 * buttons opening the case (and, for a pending approval, approving or
 * denying it) in Warden at `wardenUrl`.
 */
export function slackCaseMessage(input: SlackCaseInput, wardenUrl: string): SlackMessage {
  const base = wardenUrl.replace(/\/+$/, '');
  const heading = `Case #${input.case_number}: ${input.title}`;
  const blocks: SlackBlock[] = [
    { type: 'header', text: plainText(clip(heading, SLACK_LIMITS.headerText)) },
  ];

  const fields = [
    field('Severity', input.severity),
    field(
      'Tier',
      input.tier === undefined || input.tier === null ? undefined : `Tier ${input.tier}`,
    ),
    field('Business unit', input.business_unit),
    field('Model', input.model),
    field(
      'Phase',
      input.phase === undefined || input.phase === null ? undefined : label(input.phase),
    ),
    field(
      'Status',
      input.status === undefined || input.status === null ? undefined : label(input.status),
    ),
  ].filter((entry) => entry !== undefined);
  const summary = input.summary?.trim();
  blocks.push({
    type: 'section',
    ...(summary ? { text: mrkdwn(clip(escapeMrkdwn(summary), SLACK_LIMITS.sectionText)) } : {}),
    fields,
  });

  const techniques = input.techniques ?? [];
  if (techniques.length > 0) {
    const shown = techniques.slice(0, SLACK_LIMITS.techniques).map(techniqueLink);
    const more = techniques.length - shown.length;
    blocks.push({
      type: 'context',
      elements: [
        mrkdwn(`*MITRE ATLAS:* ${shown.join(', ')}${more > 0 ? ` and ${more} more` : ''}`),
      ],
    });
  }

  const buttons: SlackBlock[] = [];
  if (input.approval !== undefined) {
    const approvalUrl = `${base}/approvals/${encodeURIComponent(input.approval.id)}`;
    blocks.push({
      type: 'section',
      text: mrkdwn(
        clip(
          `*Approval needed:* ${escapeMrkdwn(input.approval.message)}`,
          SLACK_LIMITS.sectionText,
        ),
      ),
    });
    buttons.push(
      button('warden_approve', 'Approve', `${approvalUrl}?decision=approve`, 'primary'),
      button('warden_deny', 'Deny', `${approvalUrl}?decision=deny`, 'danger'),
    );
  }
  buttons.push(button('warden_open_case', 'Open case', `${base}/cases/${input.case_number}`));
  blocks.push({ type: 'actions', elements: buttons });

  const fallback =
    `[${input.severity}] ${heading}` +
    (input.approval === undefined ? '' : ` (approval needed: ${input.approval.message})`);
  return { text: clip(escapeMrkdwn(fallback), SLACK_LIMITS.fallbackText), blocks };
}

/**
 * Slack reads `&`, `<` and `>` as markup (links, mentions); a message from
 * an alert must not be able to ping `<!channel>` or forge a link.
 */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * A Slack member id (`U…`/`W…`) or user group (`S…`) becomes a mention,
 * `@here`/`@channel` a broadcast; anything else (an e-mail address, a team
 * name) is shown as text.
 */
export function slackRecipient(to: string): string {
  const text = to.trim();
  if (/^<[@!#][^<>]+>$/.test(text)) return text;
  if (/^[UW][A-Z0-9]{8,}$/.test(text)) return `<@${text}>`;
  if (/^S[A-Z0-9]{8,}$/.test(text)) return `<!subteam^${text}>`;
  const broadcast = /^@(here|channel|everyone)$/.exec(text);
  if (broadcast) return `<!${broadcast[1]}>`;
  return escapeMrkdwn(text);
}

function clip(text: string, max: number): string {
  const characters = [...text];
  return characters.length <= max ? text : `${characters.slice(0, max - 1).join('')}…`;
}

function plainText(text: string): { type: 'plain_text'; text: string; emoji: true } {
  return { type: 'plain_text', text, emoji: true };
}

function mrkdwn(text: string): { type: 'mrkdwn'; text: string } {
  return { type: 'mrkdwn', text };
}

function field(
  name: string,
  value: string | null | undefined,
): { type: 'mrkdwn'; text: string } | undefined {
  if (value === undefined || value === null || value.trim() === '') return undefined;
  return mrkdwn(clip(`*${name}*\n${escapeMrkdwn(value)}`, SLACK_LIMITS.fieldText));
}

function button(
  actionId: string,
  text: string,
  url: string,
  style?: 'primary' | 'danger',
): SlackBlock {
  return {
    type: 'button',
    action_id: actionId,
    text: plainText(clip(text, SLACK_LIMITS.buttonText)),
    url,
    ...(style === undefined ? {} : { style }),
  };
}

function techniqueLink(id: string): string {
  const text = id.trim();
  return TECHNIQUE_ID.test(text)
    ? `<https://atlas.mitre.org/techniques/${text}|${text}>`
    : escapeMrkdwn(text);
}

/** `detection_analysis` → `Detection & analysis`, `in_progress` → `In progress`. */
function label(value: string): string {
  const known: Record<string, string> = {
    detection_analysis: 'Detection & analysis',
    post_incident: 'Post-incident',
  };
  const text = known[value] ?? value.replace(/_/g, ' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}
