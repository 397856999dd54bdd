import type { ClientDpopView, EnvironmentDpopView } from '../admin/client-dpop.ts';
import { csrfField, escapeHtml as e, type Viewer } from './layout.ts';
import { clientPath, envPath } from './pages.ts';

function checkbox(id: string, label: string, checked: boolean): string {
  return `<div class="field"><label class="checkbox" for="${id}"><input type="checkbox" id="${id}" name="${id}" value="1"${checked ? ' checked' : ''}>${e(label)}</label></div>`;
}

const alert = (error: string | undefined): string => (error ? `<p class="alert" role="alert">${e(error)}</p>` : '');

/** The client page's DPoP panel (RFC 9449 §5.2): whether its token requests must carry a proof, and a form for writers. */
export function clientDpopSection(viewer: Viewer, env: string, clientId: string, c: ClientDpopView, error?: string): string {
  const details = `<dl class="fields"><dt>DPoP proof required</dt><dd>${c.dpop_bound_access_tokens ? 'yes: only DPoP-bound tokens' : 'no: bearer tokens unless a proof is sent'}</dd></dl>`;
  const form = viewer.canWrite
    ? [
        alert(error),
        `<form method="post" action="${clientPath(env, clientId)}/dpop">${csrfField(viewer)}`,
        checkbox('dpop_bound_access_tokens', 'Every token request must carry a DPoP proof (dpop_bound_access_tokens)', c.dpop_bound_access_tokens),
        '<button class="button primary inline" type="submit">Save DPoP setting</button></form>',
      ].join('')
    : '';
  return `<section class="panel" aria-labelledby="dpop"><h2 id="dpop">DPoP</h2>${details}${form}</section>`;
}

/** The environment settings' DPoP panel (RFC 9449 §8): whether proofs must carry a server nonce. */
export function environmentDpopSection(viewer: Viewer, env: string, settings: EnvironmentDpopView, error?: string): string {
  const details = `<dl class="fields"><dt>DPoP server nonces</dt><dd>${settings.dpop_nonce_required ? 'required' : 'not required'}</dd></dl>`;
  const form = viewer.canWrite
    ? [
        alert(error),
        `<form method="post" action="${envPath(env)}/settings/dpop">${csrfField(viewer)}`,
        checkbox('dpop_nonce_required', 'DPoP proofs at the token endpoint must carry a server nonce (DPoP-Nonce)', settings.dpop_nonce_required),
        '<button class="button primary inline" type="submit">Save DPoP setting</button></form>',
      ].join('')
    : '';
  return `<section class="panel" aria-labelledby="dpop"><h3 id="dpop">DPoP</h3>${details}${form}</section>`;
}
