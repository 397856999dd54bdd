import type { FastifyInstance, FastifyReply } from 'fastify';
import { AdminError } from '../admin/admin-service.ts';
import { ADDRESS_FIELDS, type ProfileChanges } from '../admin/user-profile.ts';
import type { RefreshTokenPolicy, SubjectType } from '../domain/model.ts';
import { sendPage } from './auth.ts';
import { renderEnvironmentSettings, renderUser } from './oidc-pages.ts';
import { envPath, userPath } from './pages.ts';
import { type ActionWrap, type ConsoleRequest, type PageWrap, services } from './request-services.ts';

/** The profile changes a user form asks for: every text field given ('' clears), a flag only when its box changed. */
export function profileForm(form: URLSearchParams): ProfileChanges {
  const field = (name: string) => form.get(name) ?? '';
  const changes: ProfileChanges = {
    email: field('email'),
    name: field('name'),
    givenName: field('given_name'),
    familyName: field('family_name'),
    preferredUsername: field('preferred_username'),
    picture: field('picture'),
    locale: field('locale'),
    zoneinfo: field('zoneinfo'),
    phoneNumber: field('phone_number'),
    address: Object.fromEntries(ADDRESS_FIELDS.map((k) => [k, field(`address_${k}`)])),
  };
  // An unchanged box leaves the flag to the service, which unverifies a new address or number.
  const emailVerified = form.get('email_verified') === '1';
  if (emailVerified !== (form.get('email_verified_was') === '1')) changes.emailVerified = emailVerified;
  const phoneVerified = form.get('phone_number_verified') === '1';
  if (phoneVerified !== (form.get('phone_number_verified_was') === '1')) changes.phoneNumberVerified = phoneVerified;
  return changes;
}

/** Refusals of a form re-render its page with the message; anything else goes to the error page. */
const refusal = (error: unknown): AdminError => {
  if (!(error instanceof AdminError) || error.kind === 'not_found') throw error;
  return error;
};

/** A user's page with their profile, and the environment's settings tab. */
export function oidcRoutes(app: FastifyInstance, page: PageWrap, action: ActionWrap): void {
  app.get(
    '/envs/:env/users/:username',
    page(async (request, _r, ctx) => renderUser(ctx, await services(request).users.get(request.params.env ?? '', request.params.username ?? ''))),
  );
  app.post(
    '/envs/:env/users/:username/profile',
    action(async (request: ConsoleRequest, reply: FastifyReply, ctx, form) => {
      const { env = '', username = '' } = request.params;
      const read = form.get('updated_at');
      const unchangedSince = (current: { updated_at: string }) => {
        if (current.updated_at !== read) throw new AdminError('conflict', `user ${username} changed since this page was loaded: reload it and try again`);
      };
      try {
        await services(request).users.update(env, username, profileForm(form), unchangedSince);
      } catch (error) {
        const refused = refusal(error);
        const user = await services(request).users.get(env, username);
        return sendPage(reply, refused.kind === 'conflict' ? 409 : 400, renderUser(ctx, user, refused.message));
      }
      return reply.redirect(`${userPath(env, username)}?done=saved`, 303);
    }),
  );
  app.get(
    '/envs/:env/settings',
    page(async (request, _r, ctx) => renderEnvironmentSettings(ctx, await services(request).admin.getEnvironment(request.params.env ?? ''))),
  );
  app.post(
    '/envs/:env/settings',
    action(async (request, reply, ctx, form) => {
      const env = request.params.env ?? '';
      try {
        await services(request).admin.updateEnvironment(env, {
          subjectType: (form.get('subject_type') ?? '') as SubjectType,
          refreshTokenPolicy: (form.get('refresh_token_policy') ?? '') as RefreshTokenPolicy,
        });
      } catch (error) {
        const refused = refusal(error);
        return sendPage(reply, 400, renderEnvironmentSettings(ctx, await services(request).admin.getEnvironment(env), refused.message));
      }
      return reply.redirect(`${envPath(env)}/settings?done=saved`, 303);
    }),
  );
  app.post(
    '/envs/:env/settings/security',
    action(async (request, reply, ctx, form) => {
      const env = request.params.env ?? '';
      try {
        await services(request).admin.updateEnvironment(env, {
          requirePushedAuthorizationRequests: form.get('require_pushed_authorization_requests') === '1',
          securityProfile: form.get('security_profile') === 'fapi2' ? 'fapi2' : null,
        });
      } catch (error) {
        const refused = refusal(error);
        return sendPage(reply, 400, renderEnvironmentSettings(ctx, await services(request).admin.getEnvironment(env), refused.message));
      }
      return reply.redirect(`${envPath(env)}/settings?done=saved`, 303);
    }),
  );
}
