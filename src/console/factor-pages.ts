import type { FastifyInstance, FastifyReply } from 'fastify';
import type { UserFactorsView } from '../admin/sign-in-policy.ts';
import { escapeHtml } from './layout.ts';
import { envPage, type PageContext, postButton, shortTime, userPath } from './pages.ts';
import { type ActionWrap, type PageWrap, type Req, services } from './request-services.ts';

const e = escapeHtml;

/** A user's second factors for an operator: TOTP, unused recovery codes, passkeys to revoke, and the reset of every factor. */
export function renderUserFactors(ctx: PageContext, env: string, view: UserFactorsView): string {
  const base = `${userPath(env, view.username)}/factors`;
  const rows = view.passkeys
    .map(
      (p) =>
        `<tr><td>${e(p.name)}</td><td><code>${e(p.credential_id.slice(0, 16))}…</code></td><td>${p.backed_up ? 'synced' : 'device-bound'}</td>` +
        `<td>${e(shortTime(p.created_at))}</td><td>${e(shortTime(p.last_used_at))}</td>` +
        `<td>${postButton(ctx.viewer, `${base}/passkeys/revoke`, 'Revoke', { credential_id: p.credential_id }, 'danger', p.name)}</td></tr>`,
    )
    .join('');
  const table =
    view.passkeys.length === 0
      ? '<p>No passkeys.</p>'
      : `<div class="table-wrap"><table><caption class="sr-only">Passkeys</caption><thead><tr><th>Name</th><th>Credential</th><th>Kind</th><th>Added</th><th>Last used</th><th></th></tr></thead><tbody>${rows}</tbody></table></div>`;
  const content = [
    `<p>TOTP: <strong>${view.totp ? 'on' : 'off'}</strong> · unused recovery codes: <strong>${view.unused_recovery_codes}</strong></p>`,
    '<h3>Passkeys</h3>',
    table,
    '<h3>Lost a factor?</h3>',
    '<p>Resetting removes the user’s TOTP, recovery codes and passkeys. They enrol again at their next sign-in. The reset is audited.</p>',
    postButton(ctx.viewer, `${base}/reset`, 'Reset all factors', {}, 'danger', view.username),
  ].join('');
  return envPage(ctx, env, 'users', `Second factors of ${view.username}`, content);
}

/** The console's page of a user's factors and its two actions (one-line registration in routes.ts). */
export function factorRoutes(app: FastifyInstance, page: PageWrap, action: ActionWrap): void {
  const signIn = (request: Req) => {
    const found = services(request).signIn;
    if (!found) throw new Error('the console was wired without the sign-in policy service');
    return found;
  };
  app.get(
    '/envs/:env/users/:username/factors',
    page(async (request, _reply, ctx) => {
      const { env = '', username = '' } = request.params;
      return renderUserFactors(ctx, env, await signIn(request).factors(env, username));
    }),
  );
  app.post(
    '/envs/:env/users/:username/factors/passkeys/revoke',
    action(async (request, reply: FastifyReply, _ctx, form) => {
      const { env = '', username = '' } = request.params;
      await signIn(request).revokePasskey(env, username, form.get('credential_id') ?? '');
      return reply.redirect(`${userPath(env, username)}/factors?done=saved`, 303);
    }),
  );
  app.post(
    '/envs/:env/users/:username/factors/reset',
    action(async (request, reply: FastifyReply) => {
      const { env = '', username = '' } = request.params;
      await signIn(request).resetFactors(env, username);
      return reply.redirect(`${userPath(env, username)}/factors?done=saved`, 303);
    }),
  );
}
