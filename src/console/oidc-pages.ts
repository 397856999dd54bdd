import type { EnvironmentView } from '../admin/admin-service.ts';
import type { ClientOidcView } from '../admin/client-oidc.ts';
import { ADDRESS_FIELDS } from '../admin/user-profile.ts';
import type { UserView } from '../admin/users.ts';
import { environmentDpopSection } from './dpop-pages.ts';
import { alert, checkbox, codes, dl, input, select, text } from './form-fields.ts';
import { csrfField, escapeHtml as e, renderConsolePage, type Viewer } from './layout.ts';
import { clientPath, envPage, envPath, type PageContext, shortTime, userPath } from './pages.ts';
import { environmentParSection } from './par-pages.ts';

const ADDRESS_LABELS: Record<(typeof ADDRESS_FIELDS)[number], string> = {
  formatted: 'Address (formatted)',
  street_address: 'Street address',
  locality: 'Locality (city)',
  region: 'Region',
  postal_code: 'Postal code',
  country: 'Country',
};

/** A user's page: their account and OpenID Connect profile attributes, with a form to change them. */
export function renderUser(ctx: PageContext, user: UserView, error?: string): string {
  const address = user.address ? ADDRESS_FIELDS.filter((k) => user.address?.[k]).map((k) => `${ADDRESS_LABELS[k]}: ${user.address?.[k]}`) : [];
  const details = dl([
    ['User ID', `<code>${e(user.user_id)}</code>`],
    ['Status', user.enabled ? '<span class="badge on">enabled</span>' : '<span class="badge">disabled</span>'],
    ['Email', `${text(user.email)}${user.email ? (user.email_verified ? ' (verified)' : ' (not verified)') : ''}`],
    ['Name', text(user.name)],
    ['Given name', text(user.given_name)],
    ['Family name', text(user.family_name)],
    ['Preferred username', text(user.preferred_username)],
    ['Picture', user.picture ? `<code>${e(user.picture)}</code>` : '—'],
    ['Locale', text(user.locale)],
    ['Time zone', text(user.zoneinfo)],
    ['Phone number', `${text(user.phone_number)}${user.phone_number ? (user.phone_number_verified ? ' (verified)' : ' (not verified)') : ''}`],
    ['Address', address.length ? address.map((line) => e(line)).join('<br>') : '—'],
    ['Created', e(shortTime(user.created_at))],
    ['Updated', e(shortTime(user.updated_at))],
  ]);
  const form = ctx.viewer.canWrite
    ? [
        '<section class="panel" aria-labelledby="profile"><h2 id="profile">Profile attributes</h2>',
        alert(error),
        `<form method="post" action="${userPath(user.environment, user.username)}/profile">${csrfField(ctx.viewer)}`,
        // The version read: a change made since is refused rather than overwritten.
        `<input type="hidden" name="updated_at" value="${e(user.updated_at)}">`,
        `<input type="hidden" name="email_verified_was" value="${user.email_verified ? '1' : ''}">`,
        `<input type="hidden" name="phone_number_verified_was" value="${user.phone_number_verified ? '1' : ''}">`,
        '<p class="note">An empty field clears the attribute. A new email or phone number is unverified unless its box is ticked again.</p>',
        input('email', 'Email', user.email, '', 'email', 254),
        checkbox('email_verified', 'Email verified', user.email_verified),
        input('name', 'Name', user.name),
        input('given_name', 'Given name', user.given_name),
        input('family_name', 'Family name', user.family_name),
        input('preferred_username', 'Preferred username', user.preferred_username, 'Empty: the username'),
        input('picture', 'Picture', user.picture, 'An https URL', 'url', 2000),
        input('locale', 'Locale', user.locale, 'BCP 47, e.g. en-US', 'text', 35),
        input('zoneinfo', 'Time zone', user.zoneinfo, 'IANA, e.g. Europe/Paris', 'text', 64),
        input('phone_number', 'Phone number', user.phone_number, 'E.164, e.g. +14155550123', 'tel', 32),
        checkbox('phone_number_verified', 'Phone number verified', user.phone_number_verified),
        '<fieldset class="field"><legend>Address</legend>',
        ADDRESS_FIELDS.map((k) => input(`address_${k}`, ADDRESS_LABELS[k], user.address?.[k] ?? null, '', 'text', 500)).join(''),
        '</fieldset>',
        '<button class="button primary inline" type="submit">Save profile</button></form></section>',
      ].join('')
    : '';
  const body = [
    `<p><a href="/console/envs">Environments</a> / <a href="${envPath(user.environment)}/users">${e(user.environment)}</a> /</p>`,
    `<h1>${e(user.username)}</h1>`,
    ctx.notice ? `<p class="notice" role="status">${e(ctx.notice)}</p>` : '',
    `<section class="panel" aria-labelledby="details"><h2 id="details">Details</h2>${details}</section>`,
    form,
  ].join('');
  return renderConsolePage({ title: `${user.username} · ${user.environment}`, body, viewer: ctx.viewer, section: 'environments', audit: ctx.audit });
}

/** The environment's settings tab: default quota, subject type, refresh-token policy. */
export function renderEnvironmentSettings(ctx: PageContext, env: EnvironmentView, error?: string): string {
  const details = dl([
    ['Issuer', `<code>${e(env.issuer)}</code>`],
    ['Default quota', env.default_quota === null ? 'unlimited' : `${env.default_quota} requests per window`],
    ['Subject type', e(env.subject_type)],
    ['Refresh-token policy', e(env.refresh_token_policy)],
    ['Created', e(shortTime(env.created_at))],
  ]);
  const form = ctx.viewer.canWrite
    ? [
        '<section class="panel" aria-labelledby="oidc"><h3 id="oidc">OpenID Connect</h3>',
        alert(error),
        `<form method="post" action="${envPath(env.name)}/settings">${csrfField(ctx.viewer)}`,
        select(
          'subject_type',
          'Subject type of clients that choose none',
          [
            ['public', 'public: every client sees the user id'],
            ['pairwise', 'pairwise: each client sector sees its own identifier'],
          ],
          env.subject_type,
        ),
        select(
          'refresh_token_policy',
          'Refresh tokens for user sign-ins',
          [
            ['client', 'client: whenever the client may use refresh_token'],
            ['offline_access', 'offline_access: only when the user granted offline_access'],
          ],
          env.refresh_token_policy,
        ),
        '<p class="note">Changing the subject type changes the <code>sub</code> every such client sees for every user. Running servers see changes within the cache TTL.</p>',
        '<button class="button primary inline" type="submit">Save settings</button></form></section>',
      ].join('')
    : '';
  return envPage(
    ctx,
    env.name,
    'settings',
    'Settings',
    details +
      form +
      environmentDpopSection(ctx.viewer, env.name, env) +
      environmentParSection(ctx.viewer, env) +
      `<p><a href="${envPath(env.name)}/settings/client-metadata-documents">Client ID Metadata Documents</a> · <a href="${envPath(env.name)}/settings/registration">Client registration</a></p>`,
  );
}

/** The client page's OpenID Connect panel: what is registered and, for writers, a form to change it. */
export function clientOidcSection(viewer: Viewer, env: string, clientId: string, c: ClientOidcView, error?: string): string {
  const details = dl([
    ['Post-logout redirect URIs', codes(c.post_logout_redirect_uris)],
    ['Back-channel logout URI', c.backchannel_logout_uri ? `<code>${e(c.backchannel_logout_uri)}</code>` : '—'],
    ['Logout token needs sid', c.backchannel_logout_session_required ? 'yes' : 'no'],
    ['Logout revokes refresh tokens', c.logout_revokes_tokens ? 'yes' : 'no'],
    ['ID Token algorithm', e(c.id_token_signed_response_alg ?? 'RS256 (default)')],
    ['Subject type', e(c.subject_type ?? "the environment's")],
    ['Sector identifier URI', c.sector_identifier_uri ? `<code>${e(c.sector_identifier_uri)}</code>` : '—'],
  ]);
  const form = viewer.canWrite
    ? [
        alert(error),
        `<form method="post" action="${clientPath(env, clientId)}/oidc">${csrfField(viewer)}`,
        input('post_logout_redirect_uris', 'Post-logout redirect URIs', c.post_logout_redirect_uris.join(' '), 'Separated by spaces', 'text', 20_000),
        input('backchannel_logout_uri', 'Back-channel logout URI', c.backchannel_logout_uri, 'https; empty: none', 'text', 2000),
        checkbox('backchannel_logout_session_required', 'Logout tokens must carry the session id (sid)', c.backchannel_logout_session_required),
        checkbox('logout_revokes_tokens', 'Ending a browser session revokes the refresh tokens this client got in it', c.logout_revokes_tokens),
        select(
          'id_token_signed_response_alg',
          'ID Token algorithm',
          [
            ['', 'RS256 (default)'],
            ['RS256', 'RS256'],
            ['ES256', 'ES256'],
            ['EdDSA', 'EdDSA'],
          ],
          c.id_token_signed_response_alg ?? '',
        ),
        select(
          'subject_type',
          'Subject type',
          [
            ['', "The environment's"],
            ['public', 'public'],
            ['pairwise', 'pairwise'],
          ],
          c.subject_type ?? '',
        ),
        input('sector_identifier_uri', 'Sector identifier URI', c.sector_identifier_uri, 'https; empty: the redirect URIs’ host', 'text', 2000),
        '<button class="button primary inline" type="submit">Save OpenID Connect settings</button></form>',
      ].join('')
    : '';
  return `<section class="panel" aria-labelledby="oidc"><h2 id="oidc">OpenID Connect</h2>${details}${form}</section>`;
}
