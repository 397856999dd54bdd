import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/config.ts';
import { buildSurfaces } from '../../src/surfaces/surface-set.ts';
import { EXAMPLE_CONFIG } from '../helpers/surfaces.ts';

const load = (surfaces: unknown) => loadConfig({ GATEHOUSE_SURFACES: JSON.stringify(surfaces) });

function refuses(surfaces: unknown, key: RegExp): void {
  assert.throws(
    () => load(surfaces),
    (error: unknown) => error instanceof ConfigError && key.test(error.message),
  );
}

describe('surfaces configuration', () => {
  it('serves the standard surface alone by default', () => {
    const config = loadConfig({});
    assert.deepEqual(
      config.surfaces.map((s) => s.profile),
      ['standard'],
    );
  });

  it('loads the example file with all four profiles and the standard one, without route conflicts', () => {
    const config = loadConfig({}, EXAMPLE_CONFIG);
    assert.deepEqual(
      config.surfaces.map((s) => s.profile),
      ['standard', 'ignisign', 'frontier', 'rightsignature', 'abbeycross'],
    );
    const routes = buildSurfaces(config).flatMap((s) => s.routes.map((r) => `${r.method} ${r.template}`));
    assert.ok(routes.includes('POST /v4/envs/{appEnv}/oauth2/proofs-token'));
    assert.ok(routes.includes('GET /oauth/token/info'));
    assert.equal(new Set(routes).size, routes.length);
  });

  it('adds the standard surface when it is not listed', () => {
    assert.deepEqual(
      load([{ profile: 'frontier', environment: 'PRODUCTION' }]).surfaces.map((s) => s.profile),
      ['standard', 'frontier'],
    );
  });

  it('applies mount paths, path overrides and environment mappings', () => {
    const config = load([
      { profile: 'frontier', mount: '/legacy/', environment: { param: 'tenant', values: { acme: 'PRODUCTION' } }, paths: { token: '/{env}/token' } },
    ]);
    const [, frontier] = buildSurfaces(config);
    assert.equal(frontier?.routes[0]?.url, '/legacy/:tenant/token');
    assert.equal(frontier?.environmentName({ tenant: 'acme' }), 'PRODUCTION');
    assert.throws(() => frontier?.environmentName({ tenant: 'other' }), /tenant must be one of acme/);
    assert.equal(frontier?.segmentFor('PRODUCTION'), 'acme');
    assert.equal(frontier?.segmentFor('STAGING'), undefined);
  });

  it('refuses bad entries with a message naming the key', () => {
    refuses([{ profile: 'keycloak' }], /\[0\]\.profile: must be one of standard, ignisign/);
    refuses([{ profile: 'frontier' }], /\[0\]\.environment: is required for the frontier profile/);
    refuses(
      [{ profile: 'abbeycross', environment: 'PRODUCTION', statusMap: { invalid_client: 200 } }],
      /statusMap\.invalid_client: must be an HTTP error status/,
    );
    refuses([{ profile: 'abbeycross', environment: 'PRODUCTION', statusMap: { wrong_code: 409 } }], /statusMap\.wrong_code: is not a known setting/);
    refuses(
      [{ profile: 'abbeycross', environment: 'PRODUCTION', workingHours: { timeZone: 'Mars/Olympus', weekly: { mon: ['09:00-17:00'] } } }],
      /workingHours/,
    );
    refuses([{ profile: 'frontier', environment: 'PRODUCTION', paths: { token: 'no-slash' } }], /paths\.token/);
    refuses([{ profile: 'frontier', environment: 'PRODUCTION', paths: { revocation: '/x' } }], /paths\.revocation: the frontier profile has no such route/);
    refuses([{ profile: 'frontier', environment: 'PRODUCTION', paths: { token: '/{env}/token' } }], /has an \{env\} segment/);
    refuses([{ profile: 'ignisign', paths: { token: '/token' } }], /has no \{env\} segment/);
    refuses([{ profile: 'frontier', environment: 'PRODUCTION', colour: 'blue' }], /\[0\]\.colour: is not a known setting/);
    refuses([{ profile: 'frontier', environment: 'PRODUCTION', accessTokenTtl: 0 }], /accessTokenTtl/);
    refuses([{ profile: 'frontier', environment: 'PRODUCTION', scope: 'a "b"' }], /scope/);
    refuses(
      [
        { profile: 'frontier', environment: 'A' },
        { profile: 'frontier', environment: 'B' },
      ],
      /two surfaces are named frontier/,
    );
    refuses({ profile: 'frontier' }, /must be an array of surfaces/);
    assert.throws(
      () => loadConfig({ GATEHOUSE_MAX_ACCESS_TOKEN_TTL: '3600', GATEHOUSE_SURFACES: JSON.stringify([{ profile: 'rightsignature', environment: 'P' }]) }),
      /GATEHOUSE_SURFACES\[1\]\.accessTokenTtl: 7200 exceeds GATEHOUSE_MAX_ACCESS_TOKEN_TTL \(3600\)/,
    );
    assert.throws(() => loadConfig({ GATEHOUSE_SURFACES: '[{' }), /GATEHOUSE_SURFACES: must be a JSON array/);
  });

  it('refuses two surfaces claiming the same route', () => {
    const config = load([
      { profile: 'frontier', environment: 'A' },
      { profile: 'frontier', name: 'frontier-b', environment: 'B' },
    ]);
    assert.throws(() => buildSurfaces(config), /POST \/v1beta1\/auth\/token of the frontier-b surface overlaps \/v1beta1\/auth\/token of the frontier surface/);
    const shadow = load([{ profile: 'frontier', environment: 'PRODUCTION', paths: { token: '/envs/PRODUCTION/token' } }]);
    assert.throws(() => buildSurfaces(shadow), /POST \/envs\/PRODUCTION\/token of the frontier surface overlaps \/envs\/:env\/token of the standard surface/);
    const page = load([
      {
        profile: 'rightsignature',
        environment: { param: 'e', values: null },
        paths: { token_info: '/envs/{env}/jwks.json', token: '/{env}/t', revocation: '/{env}/r', authorization: '/{env}/a' },
      },
    ]);
    assert.throws(
      () => buildSurfaces(page),
      /GET \/envs\/\{e\}\/jwks\.json of the rightsignature surface overlaps \/envs\/:env\/jwks\.json of Gatehouse itself/,
    );
    const mounted = load([
      { profile: 'frontier', environment: 'A' },
      { profile: 'frontier', name: 'frontier-b', environment: 'B', mount: '/b' },
    ]);
    assert.equal(buildSurfaces(mounted).length, 3);
  });
});
