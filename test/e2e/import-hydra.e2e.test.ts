import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as oauth from 'oauth4webapi';
import { HYDRA_TOKENS_REASON } from '../../src/import/sources/hydra.ts';
import { type HydraSeed, seedHydra } from '../helpers/hydra-fixture.ts';
import { type ImportTarget, startTarget, targetDatabase } from '../helpers/import-e2e.ts';
import { type SourceDb, sourceDatabases } from '../helpers/source-databases.ts';

/*
 * Moving an ORY Hydra 2 deployment onto Gatehouse: its PostgreSQL database is imported with
 * `gatehouse import hydra`, then an unchanged oauth4webapi client, configured by discovery, gets
 * tokens from Gatehouse's standard surface with the client id and secret it had at Hydra.
 */

const insecure = { [oauth.allowInsecureRequests]: true } as const;
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const postgres = (await sourceDatabases()).find((k) => k.name === 'postgres');
const target = await targetDatabase();

describe(`gatehouse import hydra from postgres into ${target.name}, then oauth4webapi`, { skip: postgres ? false : 'PostgreSQL is not reachable' }, () => {
  let source: SourceDb;
  let seed: HydraSeed;
  let gatehouse: ImportTarget;
  let as: oauth.AuthorizationServer;
  const args = () => ['hydra', '--from', source.url, '--env', 'PRODUCTION'];

  before(async () => {
    if (!postgres) return;
    gatehouse = await startTarget(target, {});
    source = await postgres.open();
    seed = await seedHydra(source, gatehouse.t.clock.now(), REDIRECT_URI);
    const issuer = new URL(`${gatehouse.base}/envs/PRODUCTION`);
    as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
  });
  after(async () => {
    await source?.cleanup();
    await gatehouse?.stop();
  });

  async function clientCredentials(id: string, auth: oauth.ClientAuth, scope: string): Promise<oauth.TokenEndpointResponse> {
    const client: oauth.Client = { client_id: id };
    const response = await oauth.clientCredentialsGrantRequest(as, client, auth, new URLSearchParams({ scope }), insecure);
    return oauth.processClientCredentialsResponse(as, client, response);
  }

  it('a dry run names the clients it would import and why the tokens and a private_key_jwt client stay behind', async () => {
    const report = await gatehouse.importCli([...args(), '--dry-run']);
    assert.equal(report.dry_run, true);
    assert.equal(report.counts.client.imported, 3);
    const reasons = report.skipped.map((s) => `${s.what}: ${s.reason}`);
    assert.ok(reasons.includes(`hydra_oauth2_refresh (1 live token): ${HYDRA_TOKENS_REASON}`), reasons.join('\n'));
    assert.ok(reasons.includes(`hydra_oauth2_access (1 live token): ${HYDRA_TOKENS_REASON}`));
    assert.ok(reasons.some((r) => r.startsWith(`client "${seed.clients.keys.id}": token_endpoint_auth_method private_key_jwt`)));
  });

  it('imports; a second run imports and updates nothing', async () => {
    assert.equal((await gatehouse.importCli(args())).counts.client.imported, 3);
    const second = await gatehouse.importCli(args());
    assert.deepEqual(second.counts.client, { imported: 0, updated: 0, unchanged: 3, skipped: 0 });
    assert.deepEqual(second.updated, []);
  });

  it('the PBKDF2 client gets tokens with its Hydra id and secret over HTTP Basic, before and after the re-hash', async () => {
    const { id, secret } = seed.clients.pbkdf2;
    for (let i = 0; i < 2; i++) {
      const tokens = await clientCredentials(id, oauth.ClientSecretBasic(secret), 'invoices:read');
      assert.equal(tokens.token_type, 'bearer');
      assert.equal(tokens.scope, 'invoices:read');
      assert.equal(tokens.expires_in, 1800, "Hydra's client_credentials lifespan");
      const client = { client_id: id };
      const info = await oauth.processIntrospectionResponse(
        as,
        client,
        await oauth.introspectionRequest(as, client, oauth.ClientSecretBasic(secret), tokens.access_token, insecure),
      );
      assert.equal(info.active, true);
    }
  });

  it('the bcrypt client gets tokens with client_secret_post; a wrong secret is refused', async () => {
    const { id, secret } = seed.clients.bcrypt;
    const tokens = await clientCredentials(id, oauth.ClientSecretPost(secret), 'invoices:read');
    assert.equal(tokens.scope, 'invoices:read');
    await assert.rejects(clientCredentials(seed.clients.pbkdf2.id, oauth.ClientSecretBasic('not-the-secret'), 'invoices:read'), (error: unknown) => {
      // invalid_client: a 401 with a Basic challenge, which oauth4webapi reports as such.
      assert.ok(error instanceof oauth.WWWAuthenticateChallengeError, String(error));
      assert.equal(error.status, 401);
      assert.equal(error.cause[0]?.scheme, 'basic');
      return true;
    });
  });

  it('an old Hydra refresh token is not accepted (its signature alone proves nothing)', async () => {
    const client = { client_id: seed.clients.bcrypt.id };
    const response = await oauth.refreshTokenGrantRequest(as, client, oauth.ClientSecretPost(seed.clients.bcrypt.secret), seed.refreshToken, insecure);
    await assert.rejects(oauth.processRefreshTokenResponse(as, client, response), (error: unknown) => {
      assert.ok(error instanceof oauth.ResponseBodyError);
      assert.equal(error.error, 'invalid_grant');
      return true;
    });
  });
});
