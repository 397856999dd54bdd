import type { ClientView, EnvironmentView, KeyView } from '../admin/admin-service.ts';
import type { ServiceAccountView } from '../admin/service-accounts.ts';
import type { UserView } from '../admin/users.ts';
import { csrfField, escapeHtml, renderConsolePage, type Viewer } from './layout.ts';
import { registrationBadge } from './registration-badge.ts';

/** Page chrome every signed-in page shares. */
export interface PageContext {
  viewer: Viewer;
  /** Whether an audit provider is wired (the top bar links to the audit page). */
  audit: boolean;
  /** A fixed confirmation after a redirect (never text from the request). */
  notice?: string | undefined;
}

export type EnvTab = 'clients' | 'service-accounts' | 'users' | 'keys' | 'settings';

const e = escapeHtml;
/** RFC 3986 percent-encoding of a path segment, `!'()*` included, so a path is safe in any attribute as it is. */
const enc = (segment: string): string => encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
export const envPath = (env: string): string => `/console/envs/${enc(env)}`;
export const clientPath = (env: string, clientId: string): string => `${envPath(env)}/clients/${enc(clientId)}`;
export const userPath = (env: string, username: string): string => `${envPath(env)}/users/${enc(username)}`;

/** `2026-06-01T12:00:00.000Z` → `2026-06-01 12:00 UTC`; anything else as given. */
export function shortTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(iso);
  return m ? `${m[1]} ${m[2]} UTC` : iso;
}

const notice = (text: string | undefined): string => (text ? `<p class="notice" role="status">${e(text)}</p>` : '');
const badge = (on: boolean): string => (on ? '<span class="badge on">enabled</span>' : '<span class="badge">disabled</span>');

/** A GET search form; `q` comes back in the input, escaped. */
function searchForm(action: string, label: string, q: string): string {
  return [
    `<form class="search" method="get" action="${e(action)}" role="search">`,
    `<div class="field"><label for="q">${e(label)}</label><input type="text" id="q" name="q" value="${e(q)}"></div>`,
    '<button class="button secondary inline" type="submit">Search</button>',
    '</form>',
  ].join('');
}

export const MAX_ROWS = 200;

/** A table with column headers; each row is already-escaped cells. */
function table(caption: string, headers: readonly string[], rows: readonly string[][], empty: string): string {
  if (rows.length === 0) return `<p class="empty">${e(empty)}</p>`;
  const head = headers.map((h) => `<th scope="col">${e(h)}</th>`).join('');
  // Long lists are cut, not paged: a search narrows them, and no page grows without bound.
  const more = rows.length > MAX_ROWS ? `<p class="note" role="status">Showing ${MAX_ROWS} of ${rows.length}: search to narrow the list.</p>` : '';
  const body = rows
    .slice(0, MAX_ROWS)
    .map(([first, ...rest]) => `<tr><th scope="row">${first ?? ''}</th>${rest.map((c) => `<td>${c}</td>`).join('')}</tr>`)
    .join('');
  return `<div class="table-wrap"><table><caption class="sr-only">${e(caption)}</caption><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>${more}`;
}

/** A one-button POST form with the CSRF token and hidden fields. */
export function postButton(viewer: Viewer, action: string, label: string, fields: Record<string, string> = {}, kind = 'secondary', name?: string): string {
  if (!viewer.canWrite) return '';
  const hidden = Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name="${e(name)}" value="${e(value)}">`)
    .join('');
  return `<form class="inline-form" method="post" action="${e(action)}">${csrfField(viewer)}${hidden}<button class="button ${kind} inline" type="submit"${name ? ` aria-label="${e(`${label} ${name}`)}"` : ''}>${e(label)}</button></form>`;
}

/** Case-insensitive match of `q` in any of the fields. */
export function matches(q: string, ...fields: (string | undefined)[]): boolean {
  const needle = q.trim().toLowerCase();
  return needle === '' || fields.some((f) => f?.toLowerCase().includes(needle));
}

export function renderEnvironments(ctx: PageContext, envs: readonly EnvironmentView[], q: string, error?: string): string {
  const rows = envs
    .filter((env) => matches(q, env.name, env.issuer))
    .map((env) => [`<a href="${envPath(env.name)}">${e(env.name)}</a>`, `<code>${e(env.issuer)}</code>`, e(shortTime(env.created_at))]);
  const create = ctx.viewer.canWrite
    ? [
        '<section class="panel" aria-labelledby="new-env"><h2 id="new-env">New environment</h2>',
        error ? `<p class="alert" role="alert">${e(error)}</p>` : '',
        `<form method="post" action="/console/envs">${csrfField(ctx.viewer)}`,
        '<div class="field"><label for="env-name">Name<span class="hint">Letters, digits, "-" or "_", up to 64.</span></label>',
        `<input type="text" id="env-name" name="name" required maxlength="64" pattern="[A-Za-z0-9_\\-]{1,64}" autocomplete="off"${error ? ' aria-invalid="true"' : ''}></div>`,
        '<button class="button primary inline" type="submit">Create environment</button></form></section>',
      ].join('')
    : '';
  const body = [
    '<h1>Environments</h1>',
    notice(ctx.notice),
    searchForm('/console/envs', 'Search environments', q),
    table('Environments', ['Name', 'Issuer', 'Created'], rows, q ? 'No environment matches.' : 'No environments yet.'),
    create,
  ].join('');
  return renderConsolePage({ title: 'Environments', body, viewer: ctx.viewer, section: 'environments', audit: ctx.audit });
}

/** The environment's heading and its tabs. */
function envHeader(env: string, tab: EnvTab): string {
  const tabs: [EnvTab, string][] = [
    ['clients', 'Clients'],
    ['service-accounts', 'Service accounts'],
    ['users', 'Users'],
    ['keys', 'Signing keys'],
    ['settings', 'Settings'],
  ];
  const items = tabs.map(([id, label]) => `<li><a href="${envPath(env)}/${id}"${id === tab ? ' aria-current="page"' : ''}>${label}</a></li>`).join('');
  return `<p><a href="/console/envs">Environments</a> /</p><h1>${e(env)}</h1><nav aria-label="Environment"><ul class="tabs">${items}</ul></nav>`;
}

export function envPage(ctx: PageContext, env: string, tab: EnvTab, title: string, content: string): string {
  const body = `${envHeader(env, tab) + notice(ctx.notice)}<h2>${e(title)}</h2>${content}`;
  return renderConsolePage({ title: `${title} · ${env}`, body, viewer: ctx.viewer, section: 'environments', audit: ctx.audit });
}

export function renderClients(ctx: PageContext, env: string, clients: readonly ClientView[], q: string): string {
  const rows = clients
    .filter((c) => matches(q, c.name, c.client_id))
    .map((c) => [
      `<a href="${clientPath(env, c.client_id)}">${e(c.name)}</a>`,
      `<code>${e(c.client_id)}</code>`,
      e(c.type) + registrationBadge(c),
      badge(c.enabled),
      e(shortTime(c.created_at)),
    ]);
  const create = ctx.viewer.canWrite ? `<p><a class="button primary inline" href="${envPath(env)}/clients/new">New client</a></p>` : '';
  const content =
    create +
    searchForm(`${envPath(env)}/clients`, 'Search clients by name or id', q) +
    table('Clients', ['Name', 'Client ID', 'Type', 'Status', 'Created'], rows, 'No clients.');
  return envPage(ctx, env, 'clients', 'Clients', content);
}

export function renderServiceAccounts(ctx: PageContext, env: string, accounts: readonly ServiceAccountView[], q: string): string {
  const action = `${envPath(env)}/service-accounts/enabled`;
  const rows = accounts
    .filter((a) => matches(q, a.name, a.service_account_id))
    .map((a) => [
      e(a.name),
      `<code>${e(a.service_account_id)}</code>`,
      e(a.scopes.join(' ') || '—'),
      badge(a.enabled),
      postButton(ctx.viewer, action, a.enabled ? 'Disable' : 'Enable', { id: a.service_account_id, enabled: String(!a.enabled) }, 'secondary', a.name),
    ]);
  const content =
    searchForm(`${envPath(env)}/service-accounts`, 'Search service accounts', q) +
    table('Service accounts', ['Name', 'ID', 'Scopes', 'Status', 'Actions'], rows, 'No service accounts.');
  return envPage(ctx, env, 'service-accounts', 'Service accounts', content);
}

export function renderUsers(ctx: PageContext, env: string, users: readonly UserView[], q: string): string {
  const action = `${envPath(env)}/users/enabled`;
  const rows = users
    .filter((u) => matches(q, u.username, u.user_id, u.email ?? undefined, u.name ?? undefined))
    .map((u) => [
      `<a href="${userPath(env, u.username)}">${e(u.username)}</a>`,
      `<code>${e(u.user_id)}</code>`,
      badge(u.enabled),
      postButton(ctx.viewer, action, u.enabled ? 'Disable' : 'Enable', { username: u.username, enabled: String(!u.enabled) }, 'secondary', u.username),
    ]);
  const content = searchForm(`${envPath(env)}/users`, 'Search users', q) + table('Users', ['Username', 'User ID', 'Status', 'Actions'], rows, 'No users.');
  return envPage(ctx, env, 'users', 'Users', content);
}

export function renderKeys(ctx: PageContext, env: string, keys: readonly KeyView[], q: string): string {
  const rows = keys
    .filter((k) => matches(q, k.kid, k.status, k.alg))
    .map((k) => [
      // The algorithm sits with the kid, and the creation time is left to `keys list`, so that
      // the Revoke column stays in view on a laptop screen.
      `<code>${e(k.kid)}</code> ${e(k.alg)}`,
      `<span class="badge ${e(k.status)}">${e(k.status)}</span>`,
      e(shortTime(k.activate_at)),
      e(shortTime(k.retired_at)),
      e(k.publish_until ? shortTime(k.publish_until) : k.published ? 'published' : '—'),
      // Revoking is for a leaked key: it leaves the JWKS at once and its tokens stop verifying.
      k.status === 'revoked' ? e(shortTime(k.revoked_at)) : postButton(ctx.viewer, `${envPath(env)}/keys/revoke`, 'Revoke', { kid: k.kid }, 'danger', k.kid),
    ]);
  const rotate = ctx.viewer.canWrite
    ? [
        `<section class="panel" aria-labelledby="rotate"><h2 id="rotate">Rotate</h2><form method="post" action="${envPath(env)}/keys/rotate">${csrfField(ctx.viewer)}`,
        '<p class="note">A new key is published now and starts signing once every cached JWKS lists it. ',
        'The emergency rotation signs with the new key as soon as every node publishes it (the cache TTL plus 1 s); the old key stays published. ',
        'For a leaked key, use Revoke: it leaves the JWKS at once and, if it was signing, a fresh key signs immediately.</p>',
        // Two lineages rotate on their own: the access-token key, and the RS256 key of ID Tokens.
        '<div class="field"><label for="alg">Key</label><select id="alg" name="alg">',
        '<option value="" selected>Access tokens (and ID Tokens asking for its algorithm)</option><option value="RS256">ID Tokens: RS256</option>',
        '</select></div>',
        '<div class="field"><label class="checkbox" for="now"><input type="checkbox" id="now" name="now" value="1">Emergency: sign with the new key once every node publishes it</label></div>',
        '<button class="button primary inline" type="submit">Rotate signing key</button></form></section>',
      ].join('')
    : '';
  const content =
    searchForm(`${envPath(env)}/keys`, 'Search keys by kid or status', q) +
    table('Signing keys', ['Key', 'Status', 'Signs from', 'Retired', 'Published until', 'Revoked'], rows, 'No keys.') +
    rotate;
  return envPage(ctx, env, 'keys', 'Signing keys', content);
}
