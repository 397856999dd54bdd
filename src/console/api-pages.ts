import type { ClientView } from '../admin/admin-service.ts';
import type { ApiView } from '../admin/apis.ts';
import type { ApiScope } from '../domain/model.ts';
import { alert, checkbox, codes, dl, hidden, input, numberInput, select, textarea } from './form-fields.ts';
import { csrfField, escapeHtml as e } from './layout.ts';
import { apiPath, clientPath, envPage, envPath, matches, type PageContext, searchForm, shortTime, table } from './pages.ts';

/* An environment's APIs (RFC 8707 resources): the list, a new API, and one API's scopes and allowed clients. */

/** Scopes as the form writes them: one per line, `name: description`. */
export const scopeLines = (scopes: readonly ApiScope[]): string => scopes.map((s) => (s.description ? `${s.name}: ${s.description}` : s.name)).join('\n');

/** What a new-API form held, shown again with its refusal. */
export interface NewApiValues {
  identifier: string;
  name: string;
  scopes: string;
}

const FORMATS: [string, string][] = [
  ['jwt', 'JWT: resource servers verify it themselves'],
  ['opaque', 'opaque: resource servers introspect it'],
];

export function renderApis(ctx: PageContext, env: string, apis: readonly ApiView[], q: string, error?: string, values?: NewApiValues): string {
  const rows = apis
    .filter((api) => matches(q, api.name, api.identifier))
    .map((api) => [
      `<a href="${apiPath(env, api.identifier)}">${e(api.name)}</a>`,
      `<code>${e(api.identifier)}</code>`,
      codes(api.scopes.map((s) => s.name)),
      String(api.clients.length),
      e(api.token_format) + (api.default ? ' <span class="badge on">default</span>' : ''),
    ]);
  const create = ctx.viewer.canWrite
    ? [
        '<section class="panel" aria-labelledby="new-api"><h2 id="new-api">New API</h2>',
        alert(error),
        `<form method="post" action="${envPath(env)}/apis">${csrfField(ctx.viewer)}`,
        input(
          'identifier',
          'Identifier',
          values?.identifier ?? '',
          'An absolute URI, the audience of its tokens (for example https://api.example.com/).',
          'text',
          2000,
        ),
        input('name', 'Name', values?.name ?? ''),
        textarea('scopes', 'Scopes', values?.scopes ?? '', 'One per line: name, or name: description.'),
        '<button class="button primary inline" type="submit">Create API</button></form></section>',
      ].join('')
    : '';
  const content =
    searchForm(`${envPath(env)}/apis`, 'Search APIs by name or identifier', q) +
    table('APIs', ['Name', 'Identifier', 'Scopes', 'Clients', 'Tokens'], rows, q ? 'No API matches.' : 'No APIs yet.') +
    create;
  return envPage(ctx, env, 'apis', 'APIs', content);
}

/** One API: its details, and (with write access) the form that changes its scopes, clients and tokens. */
export function renderApi(ctx: PageContext, api: ApiView, clients: readonly ClientView[], error?: string): string {
  const env = api.environment;
  const named = new Map(clients.map((c) => [c.client_id, c.name]));
  const allowed = api.clients.map((id) => `<a href="${clientPath(env, id)}">${e(named.get(id) ?? id)}</a>`).join(', ') || '—';
  const details = dl([
    ['Identifier', `<code>${e(api.identifier)}</code>`],
    ['Scopes', api.scopes.length ? api.scopes.map((s) => `<code>${e(s.name)}</code> ${e(s.description)}`).join('<br>') : '—'],
    ['Allowed clients', allowed],
    ['Tokens', `${e(api.token_format)}, ${api.access_token_ttl === null ? "the client's lifetime" : `${api.access_token_ttl} s`}`],
    ['Default API', api.default ? 'yes: tokens requested without resource are for it' : 'no'],
    ['Updated', e(shortTime(api.updated_at))],
  ]);
  const body = `<section class="panel" aria-label="API ${e(api.name)}">${details}</section>${ctx.viewer.canWrite ? apiForm(ctx, api, clients, error) : ''}`;
  return envPage(ctx, env, 'apis', api.name, body);
}

function apiForm(ctx: PageContext, api: ApiView, clients: readonly ClientView[], error?: string): string {
  // Every client of the environment, and any allowed id no longer listed, so saving never drops one unseen.
  const ids = [...new Set([...clients.map((c) => c.client_id), ...api.clients])];
  const named = new Map(clients.map((c) => [c.client_id, c.name]));
  const boxes = ids
    .map((id, i) => {
      const checked = api.clients.includes(id) ? ' checked' : '';
      return `<label class="checkbox" for="client-${i}"><input type="checkbox" id="client-${i}" name="client" value="${e(id)}"${checked}>${e(named.get(id) ?? id)} <code>${e(id)}</code></label>`;
    })
    .join('');
  return [
    '<section class="panel" aria-labelledby="edit-api"><h2 id="edit-api">Change</h2>',
    alert(error),
    `<form method="post" action="${apiPath(api.environment, api.identifier)}">${csrfField(ctx.viewer)}`,
    // The version read: a change saved meanwhile is refused rather than overwritten (as If-Match in the admin API).
    hidden('updated_at', api.updated_at),
    input('name', 'Name', api.name),
    textarea('scopes', 'Scopes', scopeLines(api.scopes), 'One per line: name, or name: description. Clients ask for these with resource=<identifier>.', 6),
    `<fieldset><legend>Allowed clients</legend>${boxes || '<p class="empty">No clients in this environment.</p>'}<p class="hint">Only these clients get tokens for this API.</p></fieldset>`,
    select('token_format', 'Access-token format', FORMATS, api.token_format),
    numberInput('access_token_ttl', 'Access-token lifetime (seconds)', api.access_token_ttl, "Empty: the client's lifetime."),
    checkbox('default', 'Default API: tokens requested without resource are for it', api.default),
    '<button class="button primary inline" type="submit">Save API</button></form></section>',
  ].join('');
}
