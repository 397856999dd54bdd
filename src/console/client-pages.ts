import type { ClientView } from '../admin/admin-service.ts';
import { GRANT_MODULES } from '../oauth/grants/index.ts';
import { usageChart } from './chart.ts';
import type { ConsoleAuditEvent } from './deps.ts';
import { clientDpopSection } from './dpop-pages.ts';
import { csrfField, escapeHtml as e, renderConsolePage, type Viewer } from './layout.ts';
import { clientOidcSection } from './oidc-pages.ts';
import { clientPath, envPath, type PageContext, postButton, shortTime } from './pages.ts';
import { clientParSection } from './par-pages.ts';
import { registrationBadge } from './registration-badge.ts';

/** A client as `showClient` returns it, with what later views may add (last use). */
export type ClientDetail = ClientView & {
  /** With ids when the admin services list them: each can then be revoked. */
  secrets: readonly { id?: string; created_at: string; expires_at: string | null }[];
  last_used_at?: string | null | undefined;
};

const list = (values: readonly string[]): string => (values.length ? values.map((v) => `<code>${e(v)}</code>`).join(' ') : '—');

function fields(c: ClientDetail): string {
  const rows: [string, string][] = [
    ['Client ID', `<code>${e(c.client_id)}</code>`],
    ['Status', c.enabled ? '<span class="badge on">enabled</span>' : '<span class="badge">disabled</span>'],
    ['Type', e(c.type) + registrationBadge(c)],
    ['Grant types', list(c.grant_types)],
    ['Scopes', list(c.scopes)],
    ['Default scopes', list(c.default_scopes)],
    ['Redirect URIs', list(c.redirect_uris)],
    ['Token format', e(c.token_format)],
    ['Issuer', `<code>${e(c.issuer)}</code>`],
    ['Created', e(shortTime(c.created_at))],
  ];
  if ('last_used_at' in c) rows.push(['Last used', e(c.last_used_at ? shortTime(c.last_used_at) : 'never')]);
  return `<dl class="fields">${rows.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl>`;
}

function secrets(viewer: Viewer, c: ClientDetail): string {
  if (c.type === 'public') return '';
  const path = clientPath(c.environment, c.client_id);
  const revocable = c.secrets.length > 1 && viewer.canWrite;
  const rows = c.secrets
    .map((s, i) => {
      const label = s.id ? `<code>${e(s.id)}</code>` : `Secret ${i + 1}`;
      const revoke = s.id && revocable ? `<td>${postButton(viewer, `${path}/secrets/revoke`, 'Revoke', { secret_id: s.id }, 'danger', s.id)}</td>` : '';
      return `<tr><th scope="row">${label}</th><td>${e(shortTime(s.created_at))}</td><td>${e(s.expires_at ? shortTime(s.expires_at) : 'does not expire')}</td>${revoke}</tr>`;
    })
    .join('');
  const revokeHead = revocable && c.secrets.some((s) => s.id) ? '<th scope="col">Actions</th>' : '';
  const table = rows
    ? `<div class="table-wrap"><table><caption class="sr-only">Active secrets</caption><thead><tr><th scope="col">Secret</th><th scope="col">Created</th><th scope="col">Expires</th>${revokeHead}</tr></thead><tbody>${rows}</tbody></table></div>`
    : '<p class="empty">No active secret.</p>';
  const rotate = postButton(viewer, `${path}/rotate-secret`, 'Rotate secret', {}, 'primary');
  const note = viewer.canWrite
    ? '<p class="note">Rotating shows a new secret once; the current ones keep working for the overlap period, then expire.</p>'
    : '';
  return `<section class="panel" aria-labelledby="secrets"><h2 id="secrets">Secrets</h2>${table}${note}${rotate}</section>`;
}

export function renderClientDetail(ctx: PageContext, c: ClientDetail, usage?: readonly { day: string; count: number }[], error?: string): string {
  const path = clientPath(c.environment, c.client_id);
  const toggle = postButton(
    ctx.viewer,
    `${path}/enabled`,
    c.enabled ? 'Disable client' : 'Enable client',
    { enabled: String(!c.enabled) },
    c.enabled ? 'danger' : 'primary',
  );
  const usageSection = usage
    ? `<section class="panel" aria-labelledby="usage"><h2 id="usage">Tokens per day</h2>${usageChart(usage, `Tokens issued per day to ${c.name}`)}</section>`
    : '';
  const body = [
    `<p><a href="/console/envs">Environments</a> / <a href="${envPath(c.environment)}/clients">${e(c.environment)}</a> /</p>`,
    `<h1>${e(c.name)}</h1>`,
    ctx.notice ? `<p class="notice" role="status">${e(ctx.notice)}</p>` : '',
    `<section class="panel" aria-labelledby="details"><h2 id="details">Details</h2>${fields(c)}${toggle ? `<div class="row-actions">${toggle}</div>` : ''}</section>`,
    clientOidcSection(ctx.viewer, c.environment, c.client_id, c, error),
    clientDpopSection(ctx.viewer, c.environment, c.client_id, c),
    clientParSection(ctx.viewer, c.environment, c.client_id, c),
    secrets(ctx.viewer, c),
    usageSection,
  ].join('');
  return renderConsolePage({ title: `${c.name} · ${c.environment}`, body, viewer: ctx.viewer, section: 'environments', audit: ctx.audit });
}

/** What the new-client form is filled with again after a refusal. */
export interface NewClientValues {
  name: string;
  scopes: string;
  redirectUris: string;
  grantTypes: readonly string[];
  kind: string;
  /** OpenID Connect: space-separated post-logout redirect URIs, and the back-channel logout URI. */
  postLogoutRedirectUris?: string;
  backchannelLogoutUri?: string;
}

export const EMPTY_CLIENT: NewClientValues = { name: '', scopes: '', redirectUris: '', grantTypes: ['client_credentials'], kind: 'confidential' };

// Every grant an administrator may give a client, as its module labels it.
const GRANTS: [string, string][] = GRANT_MODULES.filter((m) => m.assignable === 'clients').map((m) => [m.grantType, m.label]);

function grantBoxes(selected: readonly string[]): string {
  return GRANTS.map(
    ([id, label]) =>
      `<div class="field"><label class="checkbox" for="g-${id}"><input type="checkbox" id="g-${id}" name="grant_type" value="${id}"${selected.includes(id) ? ' checked' : ''}>${e(label)}</label></div>`,
  ).join('');
}

export function renderNewClient(ctx: PageContext, env: string, values: NewClientValues = EMPTY_CLIENT, error?: string): string {
  const invalid = error ? ' aria-invalid="true" aria-describedby="form-error"' : '';
  const body = [
    `<p><a href="/console/envs">Environments</a> / <a href="${envPath(env)}/clients">${e(env)}</a> /</p>`,
    '<h1>New client</h1>',
    error ? `<p class="alert" role="alert" id="form-error">${e(error)}</p>` : '',
    `<form class="panel" method="post" action="${envPath(env)}/clients">${csrfField(ctx.viewer)}`,
    `<div class="field"><label for="name">Name</label><input type="text" id="name" name="name" required maxlength="200" value="${e(values.name)}"${invalid}></div>`,
    '<div class="field"><label for="kind">Type</label><select id="kind" name="kind">',
    ['confidential', 'public'].map((k) => `<option value="${k}"${values.kind === k ? ' selected' : ''}>${k}</option>`).join(''),
    '</select></div>',
    '<fieldset class="field"><legend>Grant types</legend>',
    grantBoxes(values.grantTypes),
    '</fieldset>',
    `<div class="field"><label for="scopes">Scopes<span class="hint">Separated by spaces, e.g. invoices:read invoices:write</span></label><input type="text" id="scopes" name="scopes" value="${e(values.scopes)}" autocomplete="off"></div>`,
    `<div class="field"><label for="redirect_uris">Redirect URIs<span class="hint">Separated by spaces; needed for authorization code</span></label><input type="text" id="redirect_uris" name="redirect_uris" value="${e(values.redirectUris)}" autocomplete="off"></div>`,
    `<div class="field"><label for="post_logout_redirect_uris">Post-logout redirect URIs<span class="hint">OpenID Connect, separated by spaces; optional</span></label><input type="text" id="post_logout_redirect_uris" name="post_logout_redirect_uris" value="${e(values.postLogoutRedirectUris ?? '')}" autocomplete="off"></div>`,
    `<div class="field"><label for="backchannel_logout_uri">Back-channel logout URI<span class="hint">OpenID Connect, https; optional. The rest is on the client's page.</span></label><input type="text" id="backchannel_logout_uri" name="backchannel_logout_uri" value="${e(values.backchannelLogoutUri ?? '')}" autocomplete="off"></div>`,
    '<button class="button primary inline" type="submit">Create client</button></form>',
  ].join('');
  return renderConsolePage({ title: `New client · ${env}`, body, viewer: ctx.viewer, section: 'environments', audit: ctx.audit });
}

/**
 * The one page that shows a client secret, rendered on the POST response (never after a
 * redirect, never cached): a read-only input so it selects and copies whole.
 */
export function renderSecretShown(
  ctx: PageContext,
  p: { env: string; clientId: string; name: string; secret: string; tokenEndpoint: string; heading: string; previousExpire?: string | undefined },
): string {
  const body = [
    `<p><a href="/console/envs">Environments</a> / <a href="${envPath(p.env)}/clients">${e(p.env)}</a> /</p>`,
    `<h1>${e(p.heading)}</h1>`,
    '<p class="alert" role="alert"><strong>Copy the secret now: it is shown only now.</strong> Gatehouse keeps only its hash and cannot show it again.</p>',
    '<section class="panel secret" aria-labelledby="creds"><h2 id="creds">Credentials</h2>',
    `<div class="field"><label for="client_id">Client ID</label><input type="text" id="client_id" value="${e(p.clientId)}" readonly></div>`,
    `<div class="field"><label for="client_secret">Client secret</label><input type="text" id="client_secret" value="${e(p.secret)}" readonly autocomplete="off" spellcheck="false"></div>`,
    `<div class="field"><label for="token_endpoint">Token endpoint</label><input type="text" id="token_endpoint" value="${e(p.tokenEndpoint)}" readonly></div>`,
    p.previousExpire ? `<p class="note">The previous secrets keep working until ${e(shortTime(p.previousExpire))}.</p>` : '',
    `<p><a class="button secondary inline" href="${clientPath(p.env, p.clientId)}">Done: go to ${e(p.name)}</a></p>`,
    '</section>',
  ].join('');
  return renderConsolePage({ title: p.heading, body, viewer: ctx.viewer, section: 'environments', audit: ctx.audit });
}

export function renderAudit(ctx: PageContext, events: readonly ConsoleAuditEvent[], q: string): string {
  const needle = q.trim().toLowerCase();
  const shown = events.filter(
    (ev) => !needle || [ev.type, ev.environment, ev.actor, ev.actorId, ev.target, ev.outcome].some((f) => f?.toLowerCase().includes(needle)),
  );
  const actorCell = (ev: ConsoleAuditEvent): string =>
    ev.actorId === undefined ? e(ev.actor ?? '—') : `${e(ev.actor ?? '—')}<span class="mono actor-id">${e(ev.actorId)}</span>`;
  const rows = shown
    .map(
      (ev) =>
        `<tr><th scope="row">${e(shortTime(ev.at))}</th><td><code>${e(ev.type)}</code></td><td>${e(ev.environment ?? '—')}</td><td>${actorCell(ev)}</td><td>${e(ev.target ?? '—')}</td><td>${e(ev.outcome ?? '—')}</td></tr>`,
    )
    .join('');
  const tableHtml = rows
    ? `<div class="table-wrap"><table><caption class="sr-only">Recent audit events, newest first</caption><thead><tr>${['Time', 'Event', 'Environment', 'Actor', 'Target', 'Outcome'].map((h) => `<th scope="col">${h}</th>`).join('')}</tr></thead><tbody>${rows}</tbody></table></div>`
    : '<p class="empty">No audit events.</p>';
  const body = [
    '<h1>Audit events</h1>',
    '<form class="search" method="get" action="/console/audit" role="search">',
    `<div class="field"><label for="q">Filter events</label><input type="text" id="q" name="q" value="${e(q)}"></div>`,
    '<button class="button secondary inline" type="submit">Filter</button></form>',
    tableHtml,
  ].join('');
  return renderConsolePage({ title: 'Audit events', body, viewer: ctx.viewer, section: 'audit', audit: true });
}

/** A page with a heading, one message and one link: errors, refusals, signed out. */
export function renderMessage(p: {
  title: string;
  message: string;
  link?: { href: string; label: string };
  viewer?: Viewer | undefined;
  audit?: boolean;
}): string {
  const link = p.link ? `<p><a class="button secondary inline" href="${e(p.link.href)}">${e(p.link.label)}</a></p>` : '';
  const body = `<section class="panel"><h1>${e(p.title)}</h1><p>${e(p.message)}</p>${link}</section>`;
  return renderConsolePage({ title: p.title, body, ...(p.viewer ? { viewer: p.viewer } : {}), audit: p.audit ?? false });
}
