import type { FastifyInstance } from 'fastify';
import { AdminError } from '../admin/admin-service.ts';
import type { ApiChanges } from '../admin/apis.ts';
import type { ApiScope, TokenFormat } from '../domain/model.ts';
import { renderApi, renderApis } from './api-pages.ts';
import { sendPage } from './auth.ts';
import { apiPath } from './pages.ts';
import { type ActionWrap, type PageWrap, type Req, services } from './request-services.ts';

/** A form's refusal (shown again on its page), or the error itself when it is not one (a missing resource goes to the error page). */
export function formRefusal(error: unknown): AdminError {
  if (!(error instanceof AdminError) || error.kind === 'not_found') throw error;
  return error;
}

export const refusalStatus = (error: AdminError): number => (error.kind === 'conflict' ? 409 : 400);

/** A whole number from a form field; empty: null (none, or the default). */
export function wholeNumber(form: URLSearchParams, name: string, label: string): number | null {
  const value = (form.get(name) ?? '').trim();
  if (value === '') return null;
  if (!/^\d{1,15}$/.test(value)) throw new AdminError('invalid_argument', `${label} must be a whole number, or empty`);
  return Number(value);
}

/** Scopes from a textarea: one per line, `name` or `name: description`. */
export function scopesOf(text: string | null): ApiScope[] {
  return (text ?? '')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      // A scope name may itself hold ':' (admin:read): the description starts at ': '.
      const at = line.indexOf(': ');
      return at < 0 ? { name: line, description: '' } : { name: line.slice(0, at).trim(), description: line.slice(at + 2).trim() };
    });
}

/** The version a form was read at: a different one now means someone saved meanwhile. */
const unchangedSince = (read: string | null, what: string) => (current: { updated_at: string }) => {
  if (current.updated_at !== read) throw new AdminError('conflict', `${what} changed since this page was loaded: reload it and try again`);
};

/** An environment's APIs: the list with a create form, and each API's page with its change form. */
export function apiRoutes(app: FastifyInstance, page: PageWrap, action: ActionWrap): void {
  const env = (request: Req) => request.params.env ?? '';
  app.get(
    '/envs/:env/apis',
    page(async (request, _r, ctx) => renderApis(ctx, env(request), await services(request).apis.list(env(request)), request.query.q ?? '')),
  );
  app.post(
    '/envs/:env/apis',
    action(async (request, reply, ctx, form) => {
      const values = { identifier: (form.get('identifier') ?? '').trim(), name: (form.get('name') ?? '').trim(), scopes: form.get('scopes') ?? '' };
      try {
        await services(request).apis.create({ env: env(request), identifier: values.identifier, name: values.name, scopes: scopesOf(values.scopes) });
      } catch (error) {
        const refused = formRefusal(error);
        const apis = await services(request).apis.list(env(request));
        return sendPage(reply, refusalStatus(refused), renderApis(ctx, env(request), apis, '', refused.message, values));
      }
      return reply.redirect(`${apiPath(env(request), values.identifier)}?done=api-created`, 303);
    }),
  );
  app.get(
    '/envs/:env/apis/:api',
    page(async (request, _r, ctx) => {
      const { apis, admin } = services(request);
      return renderApi(ctx, await apis.show(env(request), request.params.api ?? ''), await admin.listClients(env(request)));
    }),
  );
  app.post(
    '/envs/:env/apis/:api',
    action(async (request, reply, ctx, form) => {
      const identifier = request.params.api ?? '';
      const { apis, admin } = services(request);
      try {
        await apis.update(env(request), identifier, apiChanges(form), unchangedSince(form.get('updated_at'), `API ${identifier}`));
      } catch (error) {
        const refused = formRefusal(error);
        const shown = await apis.show(env(request), identifier);
        return sendPage(reply, refusalStatus(refused), renderApi(ctx, shown, await admin.listClients(env(request)), refused.message));
      }
      return reply.redirect(`${apiPath(env(request), identifier)}?done=saved`, 303);
    }),
  );
}

/** Every field of the change form: the form shows them all, so each is written as shown. */
function apiChanges(form: URLSearchParams): ApiChanges {
  return {
    name: (form.get('name') ?? '').trim(),
    scopes: scopesOf(form.get('scopes')),
    clientIds: form.getAll('client'),
    tokenFormat: (form.get('token_format') === 'opaque' ? 'opaque' : 'jwt') as TokenFormat,
    accessTokenTtl: wholeNumber(form, 'access_token_ttl', 'the access-token lifetime'),
    isDefault: form.get('default') === '1',
  };
}
