import type { FastifyInstance } from 'fastify';
import { AdminError } from '../admin/admin-service.ts';
import { sendPage } from './auth.ts';
import { renderEnvironmentSettings } from './oidc-pages.ts';
import { clientPath, envPath, type PageContext } from './pages.ts';
import { type ActionWrap, type Req, services } from './request-services.ts';

/**
 * The console's DPoP settings (RFC 9449): a client's `dpop_bound_access_tokens` from its page,
 * the environment's server-nonce switch from its settings. A refusal shows the page again.
 */
export function dpopRoutes(app: FastifyInstance, action: ActionWrap, clientPage: (request: Req, ctx: PageContext, error?: string) => Promise<string>): void {
  app.post(
    '/envs/:env/clients/:client/dpop',
    action(async (request, reply, ctx, form) => {
      const { env = '', client = '' } = request.params;
      try {
        await services(request).admin.updateClient(env, client, { dpopBoundAccessTokens: form.get('dpop_bound_access_tokens') === '1' });
      } catch (error) {
        if (!(error instanceof AdminError) || error.kind === 'not_found') throw error;
        return sendPage(reply, error.kind === 'conflict' ? 409 : 400, await clientPage(request, ctx, error.message));
      }
      return reply.redirect(`${clientPath(env, client)}?done=saved`, 303);
    }),
  );
  app.post(
    '/envs/:env/settings/dpop',
    action(async (request, reply, ctx, form) => {
      const env = request.params.env ?? '';
      try {
        await services(request).admin.setDpopNonceRequired(env, form.get('dpop_nonce_required') === '1');
      } catch (error) {
        if (!(error instanceof AdminError) || error.kind === 'not_found') throw error;
        return sendPage(reply, 400, renderEnvironmentSettings(ctx, await services(request).admin.getEnvironment(env), error.message));
      }
      return reply.redirect(`${envPath(env)}/settings?done=saved`, 303);
    }),
  );
}
