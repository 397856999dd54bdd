import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AdminError } from '../admin/admin-service.ts';
import type { ClientOidcChanges } from '../admin/client-oidc.ts';
import type { IdTokenAlgorithm, SubjectType } from '../domain/model.ts';
import { isKeyAlgorithm } from '../oauth/signing-keys.ts';
import { ConsoleAuth, refuse, type SignedIn, sendPage } from './auth.ts';
import { brandingPreviewRoutes } from './branding-pages.ts';
import { clientMetadataDocumentConsoleRoutes } from './client-metadata-document-pages.ts';
import { type ClientDetail, type NewClientValues, renderAudit, renderClientDetail, renderMessage, renderNewClient, renderSecretShown } from './client-pages.ts';
import type { ConsoleDeps, ConsoleServices } from './deps.ts';
import { dpopRoutes } from './dpop-routes.ts';
import type { Viewer } from './layout.ts';
import { oidcRoutes } from './oidc-routes.ts';
import { clientPath, envPath, type PageContext, renderClients, renderEnvironments, renderKeys, renderServiceAccounts, renderUsers } from './pages.ts';
import { type ActionWrap, type PageWrap, type Req, SERVICES, services } from './request-services.ts';

/** Who made each signed-in request, so an error page keeps the console's navigation. */
const VIEWERS = new WeakMap<FastifyRequest, Viewer>();

/** Fixed confirmations shown after a change (`?done=…`); the request chooses one, never its text. */
const NOTICES: Record<string, string> = {
  'env-created': 'Environment created.',
  enabled: 'Enabled.',
  disabled: 'Disabled.',
  'key-rotated': 'Signing key rotation started.',
  'key-revoked': 'Signing key revoked: out of the JWKS (on every node within the cache TTL); its tokens no longer verify.',
  'secret-revoked': 'Secret revoked: it no longer works.',
  saved: 'Saved.',
};

const USAGE_DAYS = 14;

/**
 * The web console as a Fastify plugin under /console: server-rendered pages over the admin
 * services, signed in through Gatehouse's own code flow. Mount it on the admin listener.
 */
export async function registerConsole(app: FastifyInstance, deps: ConsoleDeps): Promise<void> {
  await app.register(async (scope) => consoleRoutes(scope, deps), { prefix: '/console' });
}

function consoleRoutes(app: FastifyInstance, deps: ConsoleDeps): void {
  const auth = new ConsoleAuth(deps);
  // Forms arrive URL-encoded; repeated names (grant types) are kept.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => done(null, new URLSearchParams(String(body))));
  app.setErrorHandler(consoleErrorPage);

  /** A page for signed-in operators with admin:read; anyone else is sent to sign in. */
  const page =
    (handler: (request: Req, reply: FastifyReply, ctx: PageContext) => Promise<FastifyReply | string>) => async (request: Req, reply: FastifyReply) => {
      const signedIn = await auth.current(request);
      if (!signedIn) return auth.startSignIn(reply);
      SERVICES.set(request, deps.servicesFor?.(signedIn.grant) ?? deps);
      VIEWERS.set(request, signedIn.viewer);
      const ctx: PageContext = { viewer: signedIn.viewer, audit: deps.audit !== undefined, notice: NOTICES[request.query.done ?? ''] };
      const result = await handler(request, reply, ctx);
      return typeof result === 'string' ? sendPage(reply, 200, result) : result;
    };
  /** A change: needs a session, the session's CSRF token in the form, and admin:write. */
  const action =
    (handler: (request: Req, reply: FastifyReply, ctx: PageContext, form: URLSearchParams) => Promise<FastifyReply>) =>
    async (request: Req, reply: FastifyReply) => {
      const signedIn = await auth.current(request);
      const form = request.body instanceof URLSearchParams ? request.body : new URLSearchParams();
      const refused = checkAction(auth, reply, signedIn, form);
      if (refused || !signedIn) return refused;
      SERVICES.set(request, deps.servicesFor?.(signedIn.grant) ?? deps);
      VIEWERS.set(request, signedIn.viewer);
      return handler(request, reply, { viewer: signedIn.viewer, audit: deps.audit !== undefined }, form);
    };

  app.get(
    '/',
    page(async (_request, reply) => reply.redirect('/console/envs', 303)),
  );
  app.get('/callback', (request: Req, reply) => auth.finishSignIn(request, reply));
  app.post('/signout', async (request: Req, reply) => {
    const signedIn = await auth.current(request);
    const form = request.body instanceof URLSearchParams ? request.body : new URLSearchParams();
    // A session that already ended signs out as well; a live one needs its CSRF token (no forced sign-out).
    if (signedIn && !auth.csrfMatches(signedIn, form.get('csrf_token') ?? undefined))
      return refuse(reply, 403, 'Form expired', 'Reload the page and try again.', signedIn.viewer);
    return auth.signOut(reply, signedIn, (error) => request.log.warn({ err: error }, 'the console could not revoke the access token at sign-out'));
  });
  app.get('/signed-out', async (_request, reply) =>
    sendPage(
      reply,
      200,
      renderMessage({ title: 'Signed out', message: 'You have signed out of the console.', link: { href: '/console/', label: 'Sign in again' } }),
    ),
  );
  environmentRoutes(app, page, action);
  enableRoutes(app, action);
  clientRoutes(app, deps, page, action);
  oidcRoutes(app, page, action);
  clientMetadataDocumentConsoleRoutes(app, page, action);
  brandingPreviewRoutes(app, page);
  if (deps.audit) {
    const audit = deps.audit;
    app.get(
      '/audit',
      page(async (request, _reply, ctx) => renderAudit(ctx, await audit.recent({ limit: 100 }), request.query.q ?? '')),
    );
  }
}

/** Refused admin operations and Fastify's own 4xx as console pages; anything else is a logged 500. */
function consoleErrorPage(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error instanceof AdminError) {
    const status = error.kind === 'not_found' ? 404 : error.kind === 'conflict' ? 409 : 400;
    return refuse(reply, status, status === 404 ? 'Not found' : 'Not done', error.message, VIEWERS.get(request));
  }
  // Fastify's own refusals (a body too large, an unsupported media type) keep their 4xx status.
  const status = (error as { statusCode?: unknown }).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) return refuse(reply, status, 'Not done', 'The request was refused.', VIEWERS.get(request));
  request.log.error({ err: error }, 'console request failed');
  return refuse(reply, 500, 'Something went wrong', 'The request failed. Try again; the server log has the details.');
}

/** The refusal for a change, or undefined when it may go ahead. */
function checkAction(auth: ConsoleAuth, reply: FastifyReply, signedIn: SignedIn | undefined, form: URLSearchParams): FastifyReply | undefined {
  if (!signedIn) return refuse(reply, 403, 'Session ended', 'Your console session has ended. Sign in again, then repeat the change.');
  if (!auth.csrfMatches(signedIn, form.get('csrf_token') ?? undefined)) {
    return refuse(reply, 403, 'Form expired', 'This form is no longer valid. Reload the page and try again.', signedIn.viewer);
  }
  if (!signedIn.viewer.canWrite)
    return refuse(reply, 403, 'Read only', 'Your sign-in allows reading only (admin:write is needed for changes).', signedIn.viewer);
  return undefined;
}

function environmentRoutes(app: FastifyInstance, page: PageWrap, action: ActionWrap): void {
  const q = (request: Req) => request.query.q ?? '';
  app.get(
    '/envs',
    page(async (request, _reply, ctx) => renderEnvironments(ctx, await services(request).admin.listEnvironments(), q(request))),
  );
  app.post(
    '/envs',
    action(async (request, reply, ctx, form) => {
      const name = (form.get('name') ?? '').trim();
      try {
        await services(request).admin.createEnvironment(name);
      } catch (error) {
        if (!(error instanceof AdminError) || error.kind === 'not_found') throw error;
        return sendPage(
          reply,
          error.kind === 'conflict' ? 409 : 400,
          renderEnvironments(ctx, await services(request).admin.listEnvironments(), '', error.message),
        );
      }
      return reply.redirect(`${envPath(name)}/clients?done=env-created`, 303);
    }),
  );
  app.get(
    '/envs/:env',
    page(async (request, reply) => reply.redirect(`${envPath(request.params.env ?? '')}/clients`, 303)),
  );
  app.get(
    '/envs/:env/clients',
    page(async (request, _r, ctx) =>
      renderClients(ctx, request.params.env ?? '', await services(request).admin.listClients(request.params.env ?? ''), q(request)),
    ),
  );
  app.get(
    '/envs/:env/service-accounts',
    page(async (request, _r, ctx) =>
      renderServiceAccounts(ctx, request.params.env ?? '', await services(request).serviceAccounts.list(request.params.env ?? ''), q(request)),
    ),
  );
  app.get(
    '/envs/:env/users',
    page(async (request, _r, ctx) => renderUsers(ctx, request.params.env ?? '', await services(request).users.list(request.params.env ?? ''), q(request))),
  );
  app.get(
    '/envs/:env/keys',
    page(async (request, _r, ctx) => renderKeys(ctx, request.params.env ?? '', await services(request).admin.listKeys(request.params.env ?? ''), q(request))),
  );
  app.post(
    '/envs/:env/keys/rotate',
    action(async (request, reply, _ctx, form) => {
      const env = request.params.env ?? '';
      // No algorithm: the access-token key's lineage.
      const alg = form.get('alg') || undefined;
      if (alg !== undefined && !isKeyAlgorithm(alg)) throw new AdminError('invalid_argument', `unknown key algorithm ${alg}`);
      await services(request).admin.rotateKeys(env, { now: form.get('now') === '1', ...(alg ? { alg } : {}) });
      return reply.redirect(`${envPath(env)}/keys?done=key-rotated`, 303);
    }),
  );
  app.post(
    '/envs/:env/keys/revoke',
    action(async (request, reply, _ctx, form) => {
      const env = request.params.env ?? '';
      await services(request).admin.revokeKey(env, form.get('kid') ?? '');
      return reply.redirect(`${envPath(env)}/keys?done=key-revoked`, 303);
    }),
  );
}

/** Disabling and enabling users and service accounts. */
function enableRoutes(app: FastifyInstance, action: ActionWrap): void {
  app.post(
    '/envs/:env/users/enabled',
    action(async (request, reply, _ctx, form) => {
      const env = request.params.env ?? '';
      const enabled = form.get('enabled') === 'true';
      await services(request).users.setEnabled(env, form.get('username') ?? '', enabled);
      return reply.redirect(`${envPath(env)}/users?done=${enabled ? 'enabled' : 'disabled'}`, 303);
    }),
  );
  app.post(
    '/envs/:env/service-accounts/enabled',
    action(async (request, reply, _ctx, form) => {
      const env = request.params.env ?? '';
      const enabled = form.get('enabled') === 'true';
      await services(request).serviceAccounts.setEnabled(env, form.get('id') ?? '', enabled);
      return reply.redirect(`${envPath(env)}/service-accounts?done=${enabled ? 'enabled' : 'disabled'}`, 303);
    }),
  );
}

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

function clientRoutes(app: FastifyInstance, deps: ConsoleDeps, page: PageWrap, action: ActionWrap): void {
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
  const secrets = deps.secrets;
  if (!secrets) return;
  app.post(
    '/envs/:env/clients/:client/secrets/revoke',
    action(async (request, reply, _ctx, form) => {
      const { env = '', client = '' } = request.params;
      await secrets.revoke(env, client, form.get('secret_id') ?? '');
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

/** The client page (with its secrets and usage where provided), with a form's refusal when there is one. */
function clientDetailPage(deps: ConsoleDeps) {
  return async (request: Req, ctx: PageContext, error?: string): Promise<string> => {
    const { env = '', client = '' } = request.params;
    const shown: ClientDetail = await services(request).admin.showClient(env, client);
    const detail = deps.secrets ? { ...shown, secrets: await deps.secrets.list(env, client) } : shown;
    const usage = deps.usage ? await deps.usage.tokensPerDay(env, client, USAGE_DAYS).catch(() => undefined) : undefined;
    return renderClientDetail(ctx, detail, usage, error);
  };
}
