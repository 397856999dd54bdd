import type { FastifyInstance, FastifyReply } from 'fastify';
import { AdminError } from '../admin/admin-service.ts';
import type { ClientOidcChanges } from '../admin/client-oidc.ts';
import type { IdTokenAlgorithm, SubjectType } from '../domain/model.ts';
import { sendPage } from './auth.ts';
import { type ClientDetail, type NewClientValues, renderClientDetail, renderNewClient, renderSecretShown } from './client-pages.ts';
import type { ConsoleDeps, ConsoleServices } from './deps.ts';
import { dpopRoutes } from './dpop-routes.ts';
import { clientPath, type PageContext } from './pages.ts';
import { type ActionWrap, type PageWrap, type Req, services } from './request-services.ts';

/* A client's pages: creation, its detail page with secrets and usage, and the changes made there. */

const USAGE_DAYS = 14;

const words = (text: string | null): string[] => (text ?? '').split(/\s+/).filter(Boolean);

/** The OpenID Connect metadata a client form sets: every field (an empty one back to its default). */
function clientOidcForm(form: URLSearchParams): ClientOidcChanges {
  const choice = (name: string) => form.get(name) || null;
  return {
    postLogoutRedirectUris: words(form.get('post_logout_redirect_uris')),
    backchannelLogoutUri: choice('backchannel_logout_uri'),
    backchannelLogoutSessionRequired: form.get('backchannel_logout_session_required') === '1',
    logoutRevokesTokens: form.get('logout_revokes_tokens') === '1',
    idTokenSignedResponseAlg: choice('id_token_signed_response_alg') as IdTokenAlgorithm | null,
    subjectType: choice('subject_type') as SubjectType | null,
    sectorIdentifierUri: choice('sector_identifier_uri'),
  };
}

function newClientValues(form: URLSearchParams): NewClientValues {
  return {
    name: form.get('name') ?? '',
    scopes: form.get('scopes') ?? '',
    redirectUris: form.get('redirect_uris') ?? '',
    grantTypes: form.getAll('grant_type'),
    kind: form.get('kind') === 'public' ? 'public' : 'confidential',
    postLogoutRedirectUris: form.get('post_logout_redirect_uris') ?? '',
    backchannelLogoutUri: form.get('backchannel_logout_uri') ?? '',
  };
}

/** Secrets are shown on the POST response itself: never stored for a later GET, never cached. */
function showSecret(reply: FastifyReply, html: string): FastifyReply {
  return sendPage(reply.header('cache-control', 'no-store'), 200, html);
}

export function clientRoutes(app: FastifyInstance, deps: ConsoleDeps, page: PageWrap, action: ActionWrap): void {
  app.get(
    '/envs/:env/clients/new',
    page(async (request, _r, ctx) => renderNewClient(ctx, request.params.env ?? '')),
  );
  app.post(
    '/envs/:env/clients',
    action(async (request, reply, ctx, form) => {
      const env = request.params.env ?? '';
      const values = newClientValues(form);
      let created: Awaited<ReturnType<ConsoleServices['admin']['createClient']>>;
      try {
        created = await services(request).admin.createClient({
          env,
          name: values.name,
          kind: values.kind === 'public' ? 'public' : 'confidential',
          grantTypes: [...values.grantTypes],
          scopes: words(values.scopes),
          redirectUris: words(values.redirectUris),
          postLogoutRedirectUris: words(values.postLogoutRedirectUris ?? ''),
          backchannelLogoutUri: values.backchannelLogoutUri || null,
        });
      } catch (error) {
        if (!(error instanceof AdminError) || error.kind === 'not_found') throw error;
        return sendPage(reply, 400, renderNewClient(ctx, env, values, error.message));
      }
      if (!created.client_secret) return reply.redirect(clientPath(env, created.client_id), 303);
      const p = { env, clientId: created.client_id, name: created.name, secret: created.client_secret, tokenEndpoint: `${created.issuer}/token` };
      return showSecret(reply, renderSecretShown(ctx, { ...p, heading: `Client ${created.name} created` }));
    }),
  );
  const detailPage = clientDetailPage(deps);
  app.get(
    '/envs/:env/clients/:client',
    page(async (request, _r, ctx) => detailPage(request, ctx)),
  );
  clientOidcRoute(app, action, detailPage);
  dpopRoutes(app, action, detailPage);
  app.post(
    '/envs/:env/clients/:client/rotate-secret',
    action(async (request, reply, ctx) => {
      const { env = '', client = '' } = request.params;
      const detail = await services(request).admin.showClient(env, client);
      const rotated = await services(request).admin.rotateClientSecret(env, client);
      const p = { env, clientId: client, name: detail.name, secret: rotated.client_secret, tokenEndpoint: `${detail.issuer}/token` };
      return showSecret(reply, renderSecretShown(ctx, { ...p, heading: `New secret for ${detail.name}`, previousExpire: rotated.previous_secrets_expire_at }));
    }),
  );
  app.post(
    '/envs/:env/clients/:client/enabled',
    action(async (request, reply, _ctx, form) => {
      const { env = '', client = '' } = request.params;
      const enabled = form.get('enabled') === 'true';
      await services(request).admin.setClientEnabled(env, client, enabled);
      return reply.redirect(`${clientPath(env, client)}?done=${enabled ? 'enabled' : 'disabled'}`, 303);
    }),
  );
  app.post(
    '/envs/:env/clients/:client/secrets/revoke',
    action(async (request, reply, _ctx, form) => {
      const { env = '', client = '' } = request.params;
      await services(request).admin.revokeClientSecret(env, client, form.get('secret_id') ?? '');
      return reply.redirect(`${clientPath(env, client)}?done=secret-revoked`, 303);
    }),
  );
}

/** Changing a client's OpenID Connect metadata from its page; a refusal shows the page again with the message. */
function clientOidcRoute(app: FastifyInstance, action: ActionWrap, detailPage: (request: Req, ctx: PageContext, error?: string) => Promise<string>): void {
  app.post(
    '/envs/:env/clients/:client/oidc',
    action(async (request, reply, ctx, form) => {
      const { env = '', client = '' } = request.params;
      try {
        await services(request).admin.updateClient(env, client, clientOidcForm(form));
      } catch (error) {
        if (!(error instanceof AdminError) || error.kind === 'not_found') throw error;
        return sendPage(reply, error.kind === 'conflict' ? 409 : 400, await detailPage(request, ctx, error.message));
      }
      return reply.redirect(`${clientPath(env, client)}?done=saved`, 303);
    }),
  );
  // RFC 9126 §6: whether the client's authorization requests must be pushed.
  app.post(
    '/envs/:env/clients/:client/par',
    action(async (request, reply, ctx, form) => {
      const { env = '', client = '' } = request.params;
      try {
        await services(request).admin.updateClient(env, client, {
          requirePushedAuthorizationRequests: form.get('require_pushed_authorization_requests') === '1',
        });
      } catch (error) {
        if (!(error instanceof AdminError) || error.kind === 'not_found') throw error;
        return sendPage(reply, error.kind === 'conflict' ? 409 : 400, await detailPage(request, ctx, error.message));
      }
      return reply.redirect(`${clientPath(env, client)}?done=saved`, 303);
    }),
  );
}

/** The client page (with its secrets, and its usage where provided), with a form's refusal when there is one. */
function clientDetailPage(deps: ConsoleDeps) {
  return async (request: Req, ctx: PageContext, error?: string): Promise<string> => {
    const { env = '', client = '' } = request.params;
    const shown: ClientDetail = await services(request).admin.showClient(env, client);
    const detail = { ...shown, secrets: await services(request).admin.listClientSecrets(env, client) };
    const usage = deps.usage ? await deps.usage.tokensPerDay(env, client, USAGE_DAYS).catch(() => undefined) : undefined;
    return renderClientDetail(ctx, detail, usage, error);
  };
}
