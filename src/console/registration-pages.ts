import type { FastifyInstance } from 'fastify';
import { AdminError } from '../admin/admin-error.ts';
import type { InitialAccessTokenView } from '../admin/initial-access-tokens.ts';
import type { RegistrationPolicyView } from '../admin/registration-policy.ts';
import type { RegistrationMode } from '../domain/registration.ts';
import { sendPage } from './auth.ts';
import { csrfField, escapeHtml as e } from './layout.ts';
import { envPage, envPath, type PageContext } from './pages.ts';
import { type ActionWrap, type PageWrap, type Req, services } from './request-services.ts';

const MODES: Readonly<Record<RegistrationMode, string>> = {
  off: 'off: no client registers itself',
  open: 'open: anyone may register a client (RFC 7591 §3)',
  initial_access_token: 'initial access token: registration needs a token issued here',
};
const words = (value: string | null): string[] => (value ?? '').split(/[\s,]+/).filter((w) => w !== '');
const list = (v: readonly string[]) => (v.length > 0 ? v.map((x) => `<code>${e(x)}</code>`).join(' ') : '—');

function field(id: string, label: string, value: string, hint: string): string {
  return `<div class="field"><label for="${id}">${e(label)}<span class="hint">${e(hint)}</span></label><input type="text" id="${id}" name="${id}" maxlength="2000" value="${e(value)}" autocomplete="off"></div>`;
}

function policyPanel(ctx: PageContext, env: string, p: RegistrationPolicyView, error?: string): string {
  const details = [
    '<dl class="fields">',
    `<dt>Mode</dt><dd>${e(MODES[p.mode])}</dd>`,
    `<dt>Endpoint</dt><dd>${p.registration_endpoint ? `<code>${e(p.registration_endpoint)}</code>` : '—'}</dd>`,
    `<dt>Scopes</dt><dd>${list(p.allowed_scopes)}</dd>`,
    `<dt>APIs</dt><dd>${list(p.allowed_apis)}</dd>`,
    `<dt>Grant types</dt><dd>${list(p.allowed_grant_types)}</dd>`,
    `<dt>Unused clients deleted after</dt><dd>${p.unused_client_days === null ? 'never' : `${p.unused_client_days} days`}</dd>`,
    `<dt>Registrations per source and hour</dt><dd>${p.source_limit_per_hour}</dd>`,
    '</dl>',
  ].join('');
  if (!ctx.viewer.canWrite) return `<section class="panel" aria-labelledby="policy"><h3 id="policy">Policy</h3>${details}</section>`;
  const options = (Object.keys(MODES) as RegistrationMode[])
    .map((mode) => `<option value="${mode}"${mode === p.mode ? ' selected' : ''}>${e(MODES[mode])}</option>`)
    .join('');
  const form = [
    error ? `<p class="alert" role="alert" id="form-error">${e(error)}</p>` : '',
    `<form method="post" action="${envPath(env)}/settings/registration">${csrfField(ctx.viewer)}`,
    `<div class="field"><label for="mode">Mode</label><select id="mode" name="mode">${options}</select></div>`,
    field('allowed_scopes', 'Scopes', p.allowed_scopes.join(' '), 'space-separated; what registered clients may ask for'),
    field('allowed_apis', 'APIs', p.allowed_apis.join(' '), 'space-separated resource identifiers registered clients may get tokens for'),
    field('unused_client_days', 'Delete unused clients after (days)', p.unused_client_days === null ? '' : String(p.unused_client_days), 'empty: never'),
    '<button class="button primary inline" type="submit">Save policy</button></form>',
  ].join('');
  return `<section class="panel" aria-labelledby="policy"><h3 id="policy">Policy</h3>${details}${form}</section>`;
}

function tokensPanel(ctx: PageContext, env: string, tokens: readonly InitialAccessTokenView[]): string {
  const rows = tokens.map((t) => {
    const remove = ctx.viewer.canWrite
      ? `<form method="post" action="${envPath(env)}/settings/registration/tokens/${encodeURIComponent(t.id)}/delete">${csrfField(ctx.viewer)}<button class="button inline" type="submit" aria-label="Delete ${e(t.id)}">Delete</button></form>`
      : '';
    return `<tr><td><code>${e(t.id)}</code></td><td>${e(t.description)}</td><td>${t.uses_left}</td><td>${e(t.expires_at)}</td><td>${remove}</td></tr>`;
  });
  const table = rows.length
    ? `<table><thead><tr><th scope="col">Id</th><th scope="col">Description</th><th scope="col">Uses left</th><th scope="col">Expires</th><th scope="col"><span class="hint">Action</span></th></tr></thead><tbody>${rows.join('')}</tbody></table>`
    : '<p>No initial access tokens.</p>';
  const form = ctx.viewer.canWrite
    ? [
        `<form method="post" action="${envPath(env)}/settings/registration/tokens">${csrfField(ctx.viewer)}`,
        field('description', 'Description', '', 'who it is for'),
        field('uses', 'Uses', '1', 'how many registrations it allows'),
        field('expires_in_days', 'Expires in (days)', '7', '1 to 365'),
        '<button class="button primary inline" type="submit">Issue a token</button></form>',
      ].join('')
    : '';
  return `<section class="panel" aria-labelledby="tokens"><h3 id="tokens">Initial access tokens</h3>${table}${form}</section>`;
}

/** RFC 7591: the environment's registration policy and its initial access tokens. */
export function renderRegistration(
  ctx: PageContext,
  env: string,
  p: RegistrationPolicyView,
  tokens: readonly InitialAccessTokenView[],
  error?: string,
): string {
  return envPage(ctx, env, 'settings', 'Client registration', policyPanel(ctx, env, p, error) + tokensPanel(ctx, env, tokens));
}

/** The token, once: Gatehouse keeps only its hash. */
export function renderIssuedToken(ctx: PageContext, env: string, token: string, view: InitialAccessTokenView): string {
  const body = [
    `<p class="alert" role="status">Copy this initial access token now: it is shown only once. It allows ${view.uses_left} registration(s) until ${e(view.expires_at)}.</p>`,
    `<p><code id="initial-access-token">${e(token)}</code></p>`,
    `<p><a href="${envPath(env)}/settings/registration">Back to client registration</a></p>`,
  ].join('');
  return envPage(ctx, env, 'settings', 'Initial access token issued', body);
}

/** `/envs/:env/settings/registration`: the policy (GET, POST) and initial access tokens (issue, delete). */
export function registrationConsoleRoutes(app: FastifyInstance, page: PageWrap, action: ActionWrap): void {
  const registration = (request: Req) => {
    const found = services(request).registration;
    if (!found) throw new AdminError('not_found', 'client registration is not available here');
    return found;
  };
  const show = async (request: Req, ctx: PageContext, env: string, error?: string, submitted?: RegistrationPolicyView) => {
    const r = registration(request);
    return renderRegistration(ctx, env, submitted ?? (await r.policies.get(env)), await r.initialAccessTokens.list(env), error);
  };
  const path = '/envs/:env/settings/registration';
  app.get(
    path,
    page(async (request, _r, ctx) => show(request, ctx, request.params.env ?? '')),
  );
  app.post(
    path,
    action(async (request, reply, ctx, form) => {
      const env = request.params.env ?? '';
      const days = (form.get('unused_client_days') ?? '').trim();
      try {
        await registration(request).policies.set(env, {
          mode: (form.get('mode') ?? '') as RegistrationMode,
          allowedScopes: words(form.get('allowed_scopes')),
          allowedApis: words(form.get('allowed_apis')),
          unusedClientDays: days === '' ? null : Number(days),
        });
      } catch (error) {
        if (!(error instanceof AdminError) || error.kind === 'not_found') throw error;
        return sendPage(reply, 400, await show(request, ctx, env, error.message));
      }
      return reply.redirect(`${envPath(env)}/settings/registration?done=saved`, 303);
    }),
  );
  app.post(
    `${path}/tokens`,
    action(async (request, reply, ctx, form) => {
      const env = request.params.env ?? '';
      let issued: Awaited<ReturnType<ReturnType<typeof registration>['initialAccessTokens']['create']>>;
      try {
        issued = await registration(request).initialAccessTokens.create({
          env,
          description: form.get('description') ?? '',
          uses: Number(form.get('uses') ?? '1'),
          expiresIn: Math.round(Number(form.get('expires_in_days') ?? '7') * 86_400),
        });
      } catch (error) {
        if (!(error instanceof AdminError) || error.kind === 'not_found') throw error;
        return sendPage(reply, 400, await show(request, ctx, env, error.message));
      }
      const { token, ...view } = issued;
      return sendPage(reply.header('cache-control', 'no-store'), 200, renderIssuedToken(ctx, env, token, view));
    }),
  );
  app.post(
    `${path}/tokens/:id/delete`,
    action(async (request, reply) => {
      const env = request.params.env ?? '';
      await registration(request).initialAccessTokens.delete(env, request.params.id ?? '');
      return reply.redirect(`${envPath(env)}/settings/registration?done=deleted`, 303);
    }),
  );
}
