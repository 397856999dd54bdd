import type { FastifyInstance } from 'fastify';
import { AdminError } from '../admin/admin-service.ts';
import { formRefusal, refusalStatus, wholeNumber } from './api-routes.ts';
import { sendPage } from './auth.ts';
import { envPath, type PageContext } from './pages.ts';
import { renderQuotas, renderRotation } from './quota-pages.ts';
import { type ActionWrap, type PageWrap, type Req, services } from './request-services.ts';

/** A form's hidden copy of the value it showed: empty is none. */
const wasValue = (form: URLSearchParams, name: string): number | null => {
  const value = form.get(name) ?? '';
  return value === '' ? null : Number(value);
};

/** Refuses the write when the value read now is not the one the form showed (a change saved meanwhile). */
const stillShown = (shown: number | null, now: number | null, what: string): void => {
  if (shown !== now) throw new AdminError('conflict', `${what} changed since this page was loaded (now ${now ?? 'none'}): reload it and try again`);
};

async function quotasPage(request: Req, ctx: PageContext, error?: string): Promise<string> {
  const env = request.params.env ?? '';
  const { admin } = services(request);
  return renderQuotas(ctx, await admin.getEnvironment(env), await admin.listClients(env), request.query.q ?? '', error);
}

/** The environment's default quota and each client's own. */
export function quotaRoutes(app: FastifyInstance, page: PageWrap, action: ActionWrap): void {
  app.get(
    '/envs/:env/quotas',
    page(async (request, _r, ctx) => quotasPage(request, ctx)),
  );
  app.post(
    '/envs/:env/quotas',
    action(async (request, reply, ctx, form) => {
      const env = request.params.env ?? '';
      try {
        const quota = wholeNumber(form, 'default_quota', 'the default quota');
        const shown = wasValue(form, 'default_quota_was');
        await services(request).admin.updateEnvironment(env, { defaultQuota: quota }, (current) =>
          stillShown(shown, current.default_quota, 'the default quota'),
        );
      } catch (error) {
        const refused = formRefusal(error);
        return sendPage(reply, refusalStatus(refused), await quotasPage(request, ctx, refused.message));
      }
      return reply.redirect(`${envPath(env)}/quotas?done=saved`, 303);
    }),
  );
  app.post(
    '/envs/:env/quotas/client',
    action(async (request, reply, ctx, form) => {
      const env = request.params.env ?? '';
      const clientId = form.get('client_id') ?? '';
      try {
        const quota = wholeNumber(form, 'quota', `the quota of ${clientId}`);
        const shown = wasValue(form, 'quota_was');
        await services(request).admin.updateClient(env, clientId, { quota }, (current) => stillShown(shown, current.quota, `the quota of ${clientId}`));
      } catch (error) {
        const refused = formRefusal(error);
        const message = refused.message.includes(clientId) ? refused.message : `The quota of ${clientId} was not saved: ${refused.message}`;
        return sendPage(reply, refusalStatus(refused), await quotasPage(request, ctx, message));
      }
      return reply.redirect(`${envPath(env)}/quotas?done=saved`, 303);
    }),
  );
}

/** The schedule of key rotations. */
export function rotationRoutes(app: FastifyInstance, page: PageWrap, action: ActionWrap): void {
  app.get(
    '/envs/:env/rotation',
    page(async (request, _r, ctx) => renderRotation(ctx, await services(request).admin.getKeyRotation(request.params.env ?? ''))),
  );
  app.post(
    '/envs/:env/rotation',
    action(async (request, reply, ctx, form) => {
      const env = request.params.env ?? '';
      try {
        const seconds = wholeNumber(form, 'interval_seconds', 'the rotation interval');
        const shown = wasValue(form, 'interval_was');
        await services(request).admin.setKeyRotation(env, seconds, (current) => stillShown(shown, current.key_rotation_interval, 'the rotation schedule'));
      } catch (error) {
        const refused = formRefusal(error);
        return sendPage(reply, refusalStatus(refused), renderRotation(ctx, await services(request).admin.getKeyRotation(env), refused.message));
      }
      return reply.redirect(`${envPath(env)}/rotation?done=saved`, 303);
    }),
  );
}
