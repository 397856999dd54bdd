import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { verifyLegacyHash } from '../../src/crypto/legacy-hashes.ts';
import type { ImportClient, ImportRecord } from '../../src/import/records.ts';
import { HYDRA_PAIRWISE_REASON, HYDRA_TOKENS_REASON, hydraRecords } from '../../src/import/sources/hydra.ts';
import { openSourceDatabase } from '../../src/import/sources/sql.ts';
import { type HydraSeed, seedHydra } from '../helpers/hydra-fixture.ts';
import { type SourceDb, sourceDatabases } from '../helpers/source-databases.ts';

const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);
const REDIRECT_URI = 'http://127.0.0.1:9/callback';

async function readAll(url: string, network?: string): Promise<ImportRecord[]> {
  const db = await openSourceDatabase(url);
  try {
    const records: ImportRecord[] = [];
    for await (const record of hydraRecords(db, { network, now: () => NOW })) records.push(record);
    return records;
  } finally {
    await db.close();
  }
}

const postgres = (await sourceDatabases()).find((k) => k.name === 'postgres');

describe('the Hydra reader on postgres', { skip: postgres ? false : 'PostgreSQL is not reachable' }, () => {
  let db: SourceDb;
  let seed: HydraSeed;
  let records: ImportRecord[];

  before(async () => {
    if (!postgres) return;
    db = await postgres.open();
    seed = await seedHydra(db, NOW, REDIRECT_URI);
    records = await readAll(db.url);
  });
  after(async () => db?.cleanup());

  const client = (id: string) => records.find((r): r is ImportClient => r.kind === 'client' && r.client_id === id);

  it('reads a PBKDF2 client with its audience, scopes, grant types and lifespan in seconds', async () => {
    const c = client(seed.clients.pbkdf2.id);
    assert.ok(c);
    assert.equal(c.name, 'Billing service');
    assert.equal(c.confidential, true);
    assert.equal(c.secret?.format, 'pbkdf2-sha256');
    assert.match(String(c.secret?.value), /^\$pbkdf2-sha256\$i=25000,l=32\$/);
    assert.deepEqual(c.scopes, ['invoices:read', 'invoices:write']);
    assert.deepEqual(c.grant_types, ['client_credentials']);
    assert.deepEqual(c.audience, ['https://api.example.test']);
    assert.equal(c.token_endpoint_auth_method, 'client_secret_basic');
    assert.equal(c.access_token_ttl, 1800);
    assert.equal(c.refresh_token_ttl, undefined);
    assert.equal(c.source_version, new Date(NOW - 3_600_000).toISOString());
    // The hash is Hydra's own: Gatehouse's legacy verifier accepts the client's secret against it.
    assert.equal(await verifyLegacyHash(seed.clients.pbkdf2.secret, String(c.secret?.value), 'test'), true);
    assert.equal(await verifyLegacyHash('wrong', String(c.secret?.value), 'test'), false);
  });

  it('says that rotated secrets still valid at Hydra stay behind', () => {
    const skip = records.find((r) => r.kind === 'skipped' && r.what === `1 rotated secret of client "${seed.clients.pbkdf2.id}"`);
    assert.ok(skip && skip.kind === 'skipped');
    assert.match(skip.reason, /only its current secret/);
    assert.equal(records.filter((r) => r.kind === 'skipped' && r.what.includes('rotated secret')).length, 1);
  });

  it('reads a bcrypt client with redirect URIs, client_secret_post and its refresh lifespan', () => {
    const c = client('web-portal');
    assert.ok(c);
    assert.equal(c.secret?.format, 'bcrypt');
    assert.match(String(c.secret?.value), /^\$2a\$10\$/);
    assert.deepEqual(c.redirect_uris, [REDIRECT_URI]);
    assert.deepEqual(c.grant_types, ['authorization_code', 'refresh_token', 'client_credentials']);
    assert.equal(c.token_endpoint_auth_method, 'client_secret_post');
    assert.equal(c.refresh_token_ttl, 720 * 3600);
    assert.equal(c.audience, undefined);
  });

  it('reads a public client without a secret, and skips a private_key_jwt client with the reason', () => {
    const c = client(seed.clients.public.id);
    assert.equal(c?.confidential, false);
    assert.equal(c?.secret, null);
    assert.equal(c?.token_endpoint_auth_method, 'none');
    assert.equal(client(seed.clients.keys.id), undefined);
    assert.ok(records.some((r) => r.kind === 'skipped' && r.what === `client "${seed.clients.keys.id}"` && /private_key_jwt/.test(r.reason)));
  });

  it('skips the live tokens with the reason, counting them, and never shows a signature', () => {
    const skips = records.filter((r) => r.kind === 'skipped' && r.what.startsWith('hydra_oauth2_'));
    assert.deepEqual(
      skips.map((s) => s.kind === 'skipped' && [s.what, s.reason]),
      [
        ['hydra_oauth2_refresh (1 live token)', HYDRA_TOKENS_REASON],
        ['hydra_oauth2_access (1 live token)', HYDRA_TOKENS_REASON],
      ],
    );
    const text = JSON.stringify(records);
    assert.ok(!text.includes(String(seed.refreshToken.split('.')[1])));
  });

  it("reads a client's logout and subject metadata, and says that pairwise subjects change", async () => {
    const id = seed.clients.bcrypt.id;
    const plain = client(id);
    assert.deepEqual(
      [plain?.post_logout_redirect_uris, plain?.backchannel_logout_uri, plain?.subject_type, plain?.sector_identifier_uri],
      [undefined, undefined, undefined, undefined],
      "Hydra's empty defaults are no metadata",
    );
    await db.exec(
      `update hydra_client set post_logout_redirect_uris = ?, backchannel_logout_uri = ?, backchannel_logout_session_required = true,
         subject_type = 'pairwise', sector_identifier_uri = ? where id = ?`,
      [JSON.stringify(['https://app.example.test/bye']), 'https://app.example.test/bc', 'https://app.example.test/sector.json', id],
    );
    const again = await readAll(db.url);
    const read = again.find((r): r is ImportClient => r.kind === 'client' && r.client_id === id);
    assert.deepEqual(
      [
        read?.post_logout_redirect_uris,
        read?.backchannel_logout_uri,
        read?.backchannel_logout_session_required,
        read?.subject_type,
        read?.sector_identifier_uri,
      ],
      [['https://app.example.test/bye'], 'https://app.example.test/bc', true, 'pairwise', 'https://app.example.test/sector.json'],
    );
    assert.ok(again.some((r) => r.kind === 'skipped' && r.what === `the pairwise subject identifiers of client "${id}"` && r.reason === HYDRA_PAIRWISE_REASON));
  });

  it('reads only the network named, and refuses a database that is not Hydra', async () => {
    assert.equal((await readAll(db.url, '00000000-0000-0000-0000-000000000000')).filter((r) => r.kind === 'client').length, 0);
    await db.exec('create table other_thing (id integer)');
    const plain = await postgres?.open();
    try {
      await assert.rejects(readAll(String(plain?.url)), /no hydra_client table/);
    } finally {
      await plain?.cleanup();
    }
  });
});
