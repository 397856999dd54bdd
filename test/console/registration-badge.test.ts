import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClientView } from '../../src/admin/admin-service.ts';
import { type ClientDetail, renderClientDetail } from '../../src/console/client-pages.ts';
import type { Viewer } from '../../src/console/layout.ts';
import { type PageContext, renderClients } from '../../src/console/pages.ts';

const viewer: Viewer = { subject: 'usr_1', canWrite: true, csrfToken: 'csrf' };
const ctx: PageContext = { viewer, audit: true };
const T = '2026-06-01T12:00:00.000Z';

const view = (id: string, registration: 'admin' | 'dynamic'): ClientView => ({
  client_id: id,
  name: id,
  environment: 'DEV',
  issuer: 'https://auth.example.test/envs/DEV',
  type: 'public',
  grant_types: ['authorization_code'],
  scopes: [],
  default_scopes: [],
  redirect_uris: ['https://app.example/cb'],
  token_format: 'jwt',
  access_token_ttl: null,
  introspect_any: false,
  allow_missing_pkce: false,
  quota: null,
  enabled: true,
  created_at: T,
  post_logout_redirect_uris: [],
  backchannel_logout_uri: null,
  backchannel_logout_session_required: false,
  require_pushed_authorization_requests: false,
  logout_revokes_tokens: false,
  id_token_signed_response_alg: null,
  subject_type: null,
  sector_identifier_uri: null,
  dpop_bound_access_tokens: false,
  registration,
});

describe('console: dynamically registered clients carry a badge', () => {
  it('in the client list, only on the dynamic client', () => {
    const html = renderClients(ctx, 'DEV', [view('gh_admin', 'admin'), view('gh_dynamic', 'dynamic')], '');
    const rows = html.split('<tr>');
    assert.match(rows.find((r) => r.includes('gh_dynamic')) ?? '', /class="badge"[^>]*>dynamic</);
    assert.doesNotMatch(rows.find((r) => r.includes('gh_admin')) ?? '', />dynamic</);
  });
  it("on the client's page", () => {
    const detail: ClientDetail = { ...view('gh_dynamic', 'dynamic'), secrets: [], last_used_at: null } as ClientDetail;
    assert.match(renderClientDetail(ctx, detail), />dynamic</);
  });
});
