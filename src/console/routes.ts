import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AdminError, type EnvironmentView } from '../admin/admin-service.ts';
import { isKeyAlgorithm } from '../oauth/signing-keys.ts';
import { apiRoutes } from './api-routes.ts';
import { ConsoleAuth, mayAccess, refuse, type SignedIn, sendPage, viewerFor } from './auth.ts';
import { brandingPreviewRoutes } from './branding-pages.ts';
import { clientMetadataDocumentConsoleRoutes } from './client-metadata-document-pages.ts';
import { renderAudit, renderMessage } from './client-pages.ts';
import { clientRoutes } from './client-routes.ts';
import type { ConsoleDeps } from './deps.ts';
import { factorRoutes } from './factor-pages.ts';
import type { Viewer } from './layout.ts';
import { oidcRoutes } from './oidc-routes.ts';
import { envPath, type PageContext, renderClients, renderEnvironments, renderKeys, renderServiceAccounts, renderUsers } from './pages.ts';
import { quotaRoutes, rotationRoutes } from './quota-routes.ts';
import { registrationConsoleRoutes } from './registration-pages.ts';
import { type ActionWrap, type PageWrap, type Req, SERVICES, services } from './request-services.ts';

/** Who made each signed-in request, so an error page keeps the console's navigation. */
const VIEWERS = new WeakMap<FastifyRequest, Viewer>();
/** Each signed-in request's sign-in, for what a page shows only in part (the environments list). */
const SIGNED_IN = new WeakMap<FastifyRequest, SignedIn>();

/** Fixed confirmations shown after a change (`?done=…`); the request chooses one, never its text. */
const NOTICES: Record<string, string> = {
  'env-created': 'Environment created.',
  enabled: 'Enabled.',
  disabled: 'Disabled.',
  'key-rotated': 'Signing key rotation started.',
  'key-revoked': 'Signing key revoked: out of the JWKS (on every node within the cache TTL); its tokens no longer verify.',
  'secret-revoked': 'Secret revoked: it no longer works.',
  saved: 'Saved.',
  'api-created': 'API created.',
};

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

  const { page, action } = wrappers(auth, deps);
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
  // Every page and form of the console, one line per resource.
  environmentRoutes(app, page, action);
  enableRoutes(app, action);
  clientRoutes(app, deps, page, action);
  oidcRoutes(app, page, action);
  apiRoutes(app, page, action);
  quotaRoutes(app, page, action);
  rotationRoutes(app, page, action);
  clientMetadataDocumentConsoleRoutes(app, page, action);
  brandingPreviewRoutes(app, page);
  factorRoutes(app, page, action);
  registrationConsoleRoutes(app, page, action);
  if (deps.audit) {
    const audit = deps.audit;
    app.get(
      '/audit',
      page(async (request, reply, ctx) =>
        ctx.viewer.canAudit
          ? renderAudit(ctx, await audit.recent({ limit: 100 }), request.query.q ?? '')
          : refuse(reply, 403, 'Not allowed', scopeNeeded('read', undefined), ctx.viewer),
      ),
    );
  }
}

/** The refusal's words, naming the scopes that would do, as the admin API's 403 does. */
function scopeNeeded(access: 'read' | 'write', env: string | undefined): string {
  const scope = `admin:${access}`;
  const verb = access === 'read' ? 'see' : 'change';
  return env === undefined
    ? `Your sign-in may not ${verb} this: it needs ${scope} for every environment.`
    : `Your sign-in may not ${verb} environment ${env}: it needs ${scope} or ${scope}:${env}.`;
}

/** The wrappers every console route goes through: sign-in, the scope check, CSRF, and the operator's own services. */
function wrappers(auth: ConsoleAuth, deps: ConsoleDeps): { page: PageWrap; action: ActionWrap } {
  /**
   * A page for signed-in operators; anyone else is sent to sign in. An environment's pages need
   * read access to that environment (admin:read, admin:read:ENV, or a write scope covering it).
   */
  const page =
    (handler: (request: Req, reply: FastifyReply, ctx: PageContext) => Promise<FastifyReply | string>) => async (request: Req, reply: FastifyReply) => {
      const signedIn = await auth.current(request);
      if (!signedIn) return auth.startSignIn(reply);
      const env = request.params.env;
      const viewer = viewerFor(signedIn, env);
      if (env !== undefined && !mayAccess(signedIn, 'read', env))
        return refuse(reply, 403, 'Not allowed', scopeNeeded('read', env), viewerFor(signedIn, undefined));
      SERVICES.set(request, deps.servicesFor(signedIn.grant));
      SIGNED_IN.set(request, signedIn);
      VIEWERS.set(request, viewer);
      const ctx: PageContext = { viewer, audit: deps.audit !== undefined, notice: NOTICES[request.query.done ?? ''] };
      const result = await handler(request, reply, ctx);
      return typeof result === 'string' ? sendPage(reply, 200, result) : result;
    };
  /** A change: needs a session, the session's CSRF token in the form, and write access to the environment changed (or admin:write). */
  const action =
    (handler: (request: Req, reply: FastifyReply, ctx: PageContext, form: URLSearchParams) => Promise<FastifyReply>) =>
    async (request: Req, reply: FastifyReply) => {
      const signedIn = await auth.current(request);
      const form = request.body instanceof URLSearchParams ? request.body : new URLSearchParams();
      const env = request.params.env;
      const refused = checkAction(auth, reply, signedIn, form, env);
      if (refused || !signedIn) return refused;
      const viewer = viewerFor(signedIn, env);
      SERVICES.set(request, deps.servicesFor(signedIn.grant));
      SIGNED_IN.set(request, signedIn);
      VIEWERS.set(request, viewer);
      return handler(request, reply, { viewer, audit: deps.audit !== undefined }, form);
    };

  return { page, action };
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
function checkAction(
  auth: ConsoleAuth,
  reply: FastifyReply,
  signedIn: SignedIn | undefined,
  form: URLSearchParams,
  env: string | undefined,
): FastifyReply | undefined {
  if (!signedIn) return refuse(reply, 403, 'Session ended', 'Your console session has ended. Sign in again, then repeat the change.');
  if (!auth.csrfMatches(signedIn, form.get('csrf_token') ?? undefined)) {
    return refuse(reply, 403, 'Form expired', 'This form is no longer valid. Reload the page and try again.', signedIn.viewer);
  }
  if (!mayAccess(signedIn, 'write', env)) {
    const title = env !== undefined && !mayAccess(signedIn, 'read', env) ? 'Not allowed' : 'Read only';
    return refuse(reply, 403, title, scopeNeeded('write', env), signedIn.viewer);
  }
  return undefined;
}

/** The environments the operator may read: all of them, or those their `:ENV` scopes name. */
async function readableEnvironments(request: Req): Promise<EnvironmentView[]> {
  const signedIn = SIGNED_IN.get(request);
  const all = await services(request).admin.listEnvironments();
  return signedIn ? all.filter((env) => mayAccess(signedIn, 'read', env.name)) : [];
}

function environmentRoutes(app: FastifyInstance, page: PageWrap, action: ActionWrap): void {
  const q = (request: Req) => request.query.q ?? '';
  app.get(
    '/envs',
    page(async (request, _reply, ctx) => renderEnvironments(ctx, await readableEnvironments(request), q(request))),
  );
  app.post(
    '/envs',
    action(async (request, reply, ctx, form) => {
      const name = (form.get('name') ?? '').trim();
      try {
        await services(request).admin.createEnvironment(name);
      } catch (error) {
        if (!(error instanceof AdminError) || error.kind === 'not_found') throw error;
        return sendPage(reply, error.kind === 'conflict' ? 409 : 400, renderEnvironments(ctx, await readableEnvironments(request), '', error.message));
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
