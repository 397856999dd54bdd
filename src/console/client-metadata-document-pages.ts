import type { FastifyInstance } from 'fastify';
import { AdminError } from '../admin/admin-error.ts';
import type { ClientMetadataDocumentsView } from '../admin/client-metadata-documents.ts';
import { sendPage } from './auth.ts';
import { csrfField, escapeHtml as e } from './layout.ts';
import { envPage, envPath, type PageContext } from './pages.ts';
import { type ActionWrap, type PageWrap, type Req, services } from './request-services.ts';

const words = (value: string | null): string[] => (value ?? '').split(/[\s,]+/).filter((w) => w !== '');

function field(id: string, label: string, value: string, hint: string): string {
  return `<div class="field"><label for="${id}">${e(label)}<span class="hint">${e(hint)}</span></label><input type="text" id="${id}" name="${id}" maxlength="2000" value="${e(value)}" autocomplete="off"></div>`;
}

function checkbox(id: string, label: string, checked: boolean): string {
  return `<div class="field"><label class="checkbox" for="${id}"><input type="checkbox" id="${id}" name="${id}" value="1"${checked ? ' checked' : ''}>${e(label)}</label></div>`;
}

/** The environment's Client ID Metadata Document settings: what is set and, for writers, a form. */
export function renderClientMetadataDocuments(ctx: PageContext, env: string, s: ClientMetadataDocumentsView, error?: string): string {
  const list = (v: unknown) => (Array.isArray(v) && v.length > 0 ? v.map((x) => `<code>${e(String(x))}</code>`).join(' ') : '—');
  const details = [
    '<dl class="fields">',
    `<dt>Accepted</dt><dd>${s.enabled ? 'yes: an https client_id names its metadata document' : 'no'}</dd>`,
    `<dt>Allowed hosts</dt><dd>${Array.isArray(s.allowed_hosts) && s.allowed_hosts.length > 0 ? list(s.allowed_hosts) : 'any public host'}</dd>`,
    `<dt>Blocked hosts</dt><dd>${list(s.blocked_hosts)}</dd>`,
    `<dt>Scopes</dt><dd>${list(s.scopes)}</dd>`,
    `<dt>APIs</dt><dd>${list(s.apis)}</dd>`,
    `<dt>Access-token lifetime</dt><dd>${s.access_token_ttl === null ? 'server default' : `${e(String(s.access_token_ttl))} s`}</dd>`,
    `<dt>Refresh tokens</dt><dd>${s.refresh_tokens ? 'allowed' : 'not issued'}</dd>`,
    '</dl>',
  ].join('');
  const join = (v: unknown) => (Array.isArray(v) ? v.join(' ') : '');
  const form = ctx.viewer.canWrite
    ? [
        error ? `<p class="alert" role="alert" id="form-error">${e(error)}</p>` : '',
        `<form method="post" action="${envPath(env)}/settings/client-metadata-documents">${csrfField(ctx.viewer)}`,
        checkbox('enabled', 'Accept clients named by a Client ID Metadata Document URL', s.enabled === true),
        field('allowed_hosts', 'Allowed hosts', join(s.allowed_hosts), 'space-separated; *.example.com for a subtree; empty: any public host'),
        field('blocked_hosts', 'Blocked hosts', join(s.blocked_hosts), 'space-separated; never used'),
        field('scopes', 'Scopes', join(s.scopes), 'space-separated; what such clients may get'),
        field('apis', 'APIs', join(s.apis), 'space-separated resource identifiers'),
        field('access_token_ttl', 'Access-token lifetime (seconds)', s.access_token_ttl === null ? '' : String(s.access_token_ttl), 'empty: server default'),
        checkbox('refresh_tokens', 'Such clients may use refresh tokens', s.refresh_tokens === true),
        '<p class="note">Such a client is never first-party: users always see the consent page, with the host of its URL.</p>',
        '<button class="button primary inline" type="submit">Save settings</button></form>',
      ].join('')
    : '';
  const panel = `<section class="panel" aria-labelledby="cimd"><h3 id="cimd">Client ID Metadata Documents</h3>${details}${form}</section>`;
  return envPage(ctx, env, 'settings', 'Client ID Metadata Documents', panel);
}

/** GET and POST `/envs/:env/settings/client-metadata-documents`; a refusal shows the form again with its reason. */
export function clientMetadataDocumentConsoleRoutes(app: FastifyInstance, page: PageWrap, action: ActionWrap): void {
  const settings = (request: Req) => {
    const found = services(request).metadataDocuments;
    if (!found) throw new AdminError('not_found', 'client metadata document settings are not available here');
    return found;
  };
  app.get(
    '/envs/:env/settings/client-metadata-documents',
    page(async (request, _r, ctx) => renderClientMetadataDocuments(ctx, request.params.env ?? '', await settings(request).get(request.params.env ?? ''))),
  );
  app.post(
    '/envs/:env/settings/client-metadata-documents',
    action(async (request, reply, ctx, form) => {
      const env = request.params.env ?? '';
      const ttl = (form.get('access_token_ttl') ?? '').trim();
      const submitted = {
        enabled: form.get('enabled') === '1',
        allowed_hosts: words(form.get('allowed_hosts')),
        blocked_hosts: words(form.get('blocked_hosts')),
        scopes: words(form.get('scopes')),
        apis: words(form.get('apis')),
        access_token_ttl: ttl === '' ? null : Number(ttl),
        refresh_tokens: form.get('refresh_tokens') === '1',
      };
      try {
        await settings(request).set(env, submitted);
      } catch (error) {
        if (!(error instanceof AdminError) || error.kind === 'not_found') throw error;
        return sendPage(reply, 400, renderClientMetadataDocuments(ctx, env, submitted, error.message));
      }
      return reply.redirect(`${envPath(env)}/settings/client-metadata-documents?done=saved`, 303);
    }),
  );
}
