import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { ClientView, EnvironmentView, KeyView } from '../../src/admin/admin-service.ts';
import type { ServiceAccountView } from '../../src/admin/service-accounts.ts';
import type { UserView } from '../../src/admin/users.ts';
import { usageChart } from '../../src/console/chart.ts';
import { type ClientDetail, renderAudit, renderClientDetail, renderNewClient, renderSecretShown } from '../../src/console/client-pages.ts';
import type { Viewer } from '../../src/console/layout.ts';
import { renderEnvironmentSettings, renderUser } from '../../src/console/oidc-pages.ts';
import { MAX_ROWS, type PageContext, renderClients, renderEnvironments, renderKeys, renderServiceAccounts, renderUsers } from '../../src/console/pages.ts';

const viewer: Viewer = { name: 'usr_1', canWrite: true, canAudit: true, csrfToken: 'csrf' };
const ctx: PageContext = { viewer, audit: true };
const T = '2026-06-01T12:00:00.000Z';

const client = (v: string): ClientDetail => ({
  client_id: `gh_${v}`,
  name: v,
  environment: v,
  issuer: `https://auth.example.test/envs/${v}`,
  type: 'confidential',
  grant_types: ['client_credentials'],
  scopes: [v],
  default_scopes: [v],
  redirect_uris: [v],
  token_format: 'jwt',
  access_token_ttl: null,
  introspect_any: false,
  allow_missing_pkce: false,
  quota: null,
  enabled: true,
  created_at: T,
  post_logout_redirect_uris: [v],
  backchannel_logout_uri: v,
  backchannel_logout_session_required: true,
  require_pushed_authorization_requests: false,
  logout_revokes_tokens: false,
  id_token_signed_response_alg: 'ES256',
  subject_type: 'pairwise',
  sector_identifier_uri: v,
  dpop_bound_access_tokens: false,
  secrets: [
    { id: v, created_at: T, expires_at: null },
    { id: v, created_at: T, expires_at: T },
  ],
  last_used_at: T,
});

/** Every page, with the one user-controlled value `v` in every place a value can go. */
function everyPage(v: string): string[] {
  const env: EnvironmentView = {
    name: v,
    issuer: v,
    default_quota: null,
    subject_type: 'public',
    refresh_token_policy: 'client',
    dpop_nonce_required: false,
    require_pushed_authorization_requests: false,
    security_profile: null,
    created_at: T,
  };
  const key: KeyView = {
    kid: v,
    alg: 'ES256',
    status: 'active',
    published: true,
    created_at: T,
    activate_at: T,
    retired_at: null,
    publish_until: null,
    revoked_at: null,
  };
  const user: UserView = { user_id: v, username: v, environment: v, enabled: true, created_at: T, updated_at: T, ...profile(v) };
  const account: ServiceAccountView = {
    service_account_id: v,
    name: v,
    environment: v,
    issuer: v,
    token_endpoint: v,
    grant_types: [],
    scopes: [v],
    default_scopes: [],
    enabled: false,
    created_at: T,
  };
  const clientView: ClientView = client(v);
  const c = { ...ctx, viewer: { ...viewer, subject: v } };
  return [
    renderEnvironments(c, [env], v, v),
    renderClients(c, v, [clientView], ''),
    renderServiceAccounts(c, v, [account], ''),
    renderUsers(c, v, [user], ''),
    renderKeys(c, v, [key], ''),
    renderClientDetail(c, client(v), [{ day: v, count: 3 }]),
    renderNewClient(c, v, { name: v, scopes: v, redirectUris: v, grantTypes: [v], kind: v, postLogoutRedirectUris: v, backchannelLogoutUri: v }, v),
    renderSecretShown(c, { env: v, clientId: v, name: v, secret: v, tokenEndpoint: v, heading: v, previousExpire: v }),
    renderAudit(c, [{ at: v, type: v, environment: v, actor: v, target: v, outcome: v }], ''),
    renderAudit(c, [{ at: v, type: v, environment: v, actor: v, actorId: v, target: v, outcome: v }], ''),
    usageChart([{ day: v, count: 1 }], v),
    renderUser(c, user, v),
    renderEnvironmentSettings(c, env, v),
  ];
}

/** Every profile attribute set to `v`. */
const profile = (v: string) => ({
  email: v,
  email_verified: true,
  name: v,
  given_name: v,
  family_name: v,
  preferred_username: v,
  picture: v,
  locale: v,
  zoneinfo: v,
  phone_number: v,
  phone_number_verified: false,
  address: { formatted: v, street_address: v, locality: v, region: v, postal_code: v, country: v },
});

/** A value with markers around it, so its escaped form can be found and replaced without touching the template. */
const marked = (s: string) => `\u27e6${s}\u27e7`;
const escaped = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
const encoded = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** The page with every rendering of the value (escaped text, or percent-encoded in a path) replaced by one placeholder. */
function skeleton(html: string, value: string): string {
  return html
    .split(escaped(value))
    .join('\u00a7')
    .split(escaped(encoded(value)))
    .join('\u00a7');
}

/** Characters that matter to HTML (often), and any code point. */
const htmlish = fc.oneof(
  fc.constantFrom('<', '>', '"', "'", '&', '=', '/', ' ', '`', '\\', ';', '#', '%', '?'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
);

describe('console pages', () => {
  it('keep every user-controlled value inside its text node or attribute (property)', () => {
    const reference = everyPage(marked('plain')).map((html) => skeleton(html, marked('plain')));
    fc.assert(
      fc.property(fc.string({ unit: htmlish, maxLength: 40 }), (s) => {
        const value = marked(s);
        everyPage(value).forEach((html, i) => {
          assert.equal(skeleton(html, value), reference[i], `page ${i} changed shape for ${JSON.stringify(value)}`);
        });
      }),
      { numRuns: 300 },
    );
  });

  it('cut long lists and say so', () => {
    const users: UserView[] = Array.from({ length: MAX_ROWS + 1 }, (_, i) => ({
      user_id: `u${i}`,
      username: `user${i}`,
      environment: 'DEV',
      enabled: true,
      created_at: T,
      updated_at: T,
      ...profile(`u${i}`),
    }));
    const html = renderUsers(ctx, 'DEV', users, '');
    assert.equal([...html.matchAll(/<tr><th scope="row">/g)].length, MAX_ROWS);
    assert.match(html, new RegExp(`Showing ${MAX_ROWS} of ${MAX_ROWS + 1}`));
    assert.doesNotMatch(renderUsers(ctx, 'DEV', users.slice(0, MAX_ROWS), ''), /Showing/);
  });

  it('escape markup in names', () => {
    const html = renderClients(ctx, 'DEV', [client('<script>alert(1)</script>"onx=\'')], '');
    assert.ok(!html.includes('<script>'));
    assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;&quot;onx=&#39;/);
  });

  it('give every input a label and every table header a scope', () => {
    for (const html of everyPage('x')) {
      for (const [, id] of html.matchAll(/<input type="(?:text|checkbox)" id="([^"]+)"/g))
        assert.match(html, new RegExp(`<label[^>]* for="${id}"`), `input ${id} has a label`);
      for (const [select] of html.matchAll(/<select id="([^"]+)"/g)) assert.ok(select);
      assert.ok(!/<th(?=[\s>])(?![^>]*scope=)[^>]*>/.test(html), 'every th has a scope');
      const levels = [...html.matchAll(/<h([1-6])/g)].map((m) => Number(m[1]));
      levels.forEach((level, i) => {
        assert.ok(i === 0 ? level === 1 : level <= (levels[i - 1] ?? 1) + 1, `headings in order: ${levels.join(',')}`);
      });
    }
  });

  it('hide every form from a read-only operator except sign-out', () => {
    const reader: PageContext = { viewer: { ...viewer, canWrite: false }, audit: false };
    const pages = [renderKeys(reader, 'DEV', [], ''), renderClientDetail(reader, client('x')), renderEnvironments(reader, [], '')];
    for (const html of pages)
      assert.deepEqual(
        [...html.matchAll(/<form[^>]*method="post"[^>]*action="([^"]+)"/g)].map((m) => m[1]),
        ['/console/signout'],
      );
  });

  it('draw usage as bars scaled to the busiest day, with the numbers as a table', () => {
    const svg = usageChart(
      [
        { day: '2026-06-01', count: 0 },
        { day: '2026-06-02', count: 10 },
        { day: '2026-06-03', count: 5 },
      ],
      'Tokens',
    );
    const heights = [...svg.matchAll(/<rect [^>]*height="(\d+)"/g)].map((m) => Number(m[1]));
    assert.deepEqual(heights, [0, 114, 57]);
    assert.match(svg, /<th scope="row">2026-06-02<\/th><td>10<\/td>/);
    assert.match(usageChart([], 'Tokens'), /No tokens issued/);
  });
});
