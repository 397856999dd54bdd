import type { EnvironmentView } from '../admin/admin-service.ts';
import type { ClientParView } from '../admin/par-settings.ts';
import { csrfField, escapeHtml as e, type Viewer } from './layout.ts';
import { clientPath, envPath } from './pages.ts';

// The console's panels for pushed authorization requests (RFC 9126) and the security profile.

const checkbox = (id: string, label: string, checked: boolean): string =>
  `<div class="field"><label class="checkbox" for="${id}"><input type="checkbox" id="${id}" name="${id}" value="1"${checked ? ' checked' : ''}>${e(label)}</label></div>`;

/** The client page's panel: whether its authorization requests must be pushed (RFC 9126 §6). */
export function clientParSection(viewer: Viewer, env: string, clientId: string, c: ClientParView): string {
  const details = `<dl class="fields"><dt>Must push authorization requests</dt><dd>${c.require_pushed_authorization_requests ? 'yes' : 'no'}</dd></dl>`;
  const form = viewer.canWrite
    ? [
        `<form method="post" action="${clientPath(env, clientId)}/par">${csrfField(viewer)}`,
        checkbox('require_pushed_authorization_requests', 'Authorization requests must be pushed first (RFC 9126)', c.require_pushed_authorization_requests),
        '<button class="button primary inline" type="submit">Save</button></form>',
      ].join('')
    : '';
  return `<section class="panel" aria-labelledby="par"><h2 id="par">Pushed authorization requests</h2>${details}${form}</section>`;
}

/** The environment settings tab's panel: pushed authorization requests (RFC 9126 §5) and the FAPI 2.0 profile. */
export function environmentParSection(viewer: Viewer, env: EnvironmentView): string {
  const details = [
    '<dl class="fields">',
    `<dt>Must push authorization requests</dt><dd>${env.require_pushed_authorization_requests ? 'yes' : 'no'}</dd>`,
    `<dt>Security profile</dt><dd>${env.security_profile === 'fapi2' ? 'FAPI 2.0' : 'none'}</dd>`,
    '</dl>',
  ].join('');
  const profile = env.security_profile ?? '';
  const form = viewer.canWrite
    ? [
        `<form method="post" action="${envPath(env.name)}/settings/security">${csrfField(viewer)}`,
        checkbox(
          'require_pushed_authorization_requests',
          'Every authorization request must be pushed first (RFC 9126)',
          env.require_pushed_authorization_requests,
        ),
        '<div class="field"><label for="security_profile">Security profile</label><select id="security_profile" name="security_profile">',
        `<option value=""${profile === '' ? ' selected' : ''}>none</option>`,
        `<option value="fapi2"${profile === 'fapi2' ? ' selected' : ''}>FAPI 2.0 Security Profile</option>`,
        '</select></div>',
        '<p class="note">FAPI 2.0 requires pushed requests, private_key_jwt client authentication, no public clients and codes of at most 60 seconds.</p>',
        '<button class="button primary inline" type="submit">Save security settings</button></form>',
      ].join('')
    : '';
  return `<section class="panel" aria-labelledby="security"><h3 id="security">Pushed requests and security profile</h3>${details}${form}</section>`;
}
