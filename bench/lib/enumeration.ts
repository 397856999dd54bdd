import { pbkdf2Sync, randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { argon2id } from 'hash-wasm';
import { UserAuthenticator } from '../../src/accounts/users.ts';
import { AdminService } from '../../src/admin/admin-service.ts';
import { loadConfig } from '../../src/config/config.ts';
import { hashPassword } from '../../src/crypto/passwords.ts';
import { keyedHasher } from '../../src/crypto/secrets.ts';
import { systemClock } from '../../src/domain/clock.ts';
import type { Store } from '../../src/domain/storage.ts';
import { createLogger } from '../../src/server/logger.ts';
import { createServer, type ServerConfig } from '../../src/server/server.ts';
import { openStore } from '../../src/store/open.ts';

/**
 * `npm run bench -- --enumeration [--samples N]`: what an attacker sees. For each legacy hash kind
 * (bcrypt cost 10 as Doorkeeper stores it, PBKDF2-SHA256 with Hydra's 25,000 iterations, argon2id
 * at OWASP's m=19 MiB, t=2), an environment holds one imported client and user under that hash,
 * a native client, a disabled client and a native user. N requests of each side of each pair are
 * timed one at a time (each round's order drawn at random), beside a control pair of two unknown
 * ids, and each pair gets its medians and a two-sided Mann–Whitney U test (normal
 * approximation): |z| < 1.96 is no difference separable at the 5 % level.
 * Logins are timed through a UserAuthenticator over the node's store and legacy guard (the login
 * page adds the same HTTP and CSRF work to both sides); scrypt runs at log2N 14 here so that the
 * run takes minutes.
 */
export async function runEnumeration(samples: number, kinds: readonly string[] = Object.keys(LEGACY_HASHES)): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-enumeration-'));
  const base = loadConfig({ GATEHOUSE_LOG_LEVEL: 'silent', GATEHOUSE_DATA_DIR: dir, GATEHOUSE_PUBLIC_URL: 'http://127.0.0.1' });
  const config = Object.freeze({
    ...base,
    port: 0,
    host: '127.0.0.1',
    keySecret: randomBytes(32),
    // The attacker's requests are timed, not throttled: a throttle answers both sides alike.
    authFailureLimit: 1_000_000,
    authFailureSourceLimit: 1_000_000,
    authFailureClientLimit: 1_000_000,
    loginUsernameLimit: 1_000_000,
    loginAddressLimit: 1_000_000,
  }) as ServerConfig;
  const store = openStore(join(dir, 'gatehouse.db'));
  await store.migrate();
  const app = await createServer(config, { store, logger: createLogger('silent') });
  const address = await app.start();
  const admin = new AdminService(config, config.keySecret, store, app.core, systemClock);
  const rows: string[] = ['| kind | pair | median A (ms) | median B (ms) | z | separable |', '|---|---|---|---|---|---|'];
  try {
    for (const [kind, hash] of Object.entries(LEGACY_HASHES).filter(([k]) => kinds.includes(k))) {
      const setup = await environment(admin, store, kind, hash);
      const token = (clientId: string, secret: string) => () =>
        fetch(`${address}/envs/${kind}/token`, {
          method: 'POST',
          headers: {
            authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`,
            'content-type': 'application/x-www-form-urlencoded',
          },
          body: 'grant_type=client_credentials',
        }).then(async (res) => {
          await res.arrayBuffer();
          if (res.status !== 401) throw new Error(`expected 401, got ${res.status}`);
        });
      const unknownClient = token(`gh_${randomBytes(16).toString('hex')}`, 'wrong secret');
      const pairs: [string, () => Promise<unknown>, () => Promise<unknown>][] = [
        // The control: two unknown ids. Whatever it shows is the measurement's own noise.
        ['client: unknown id vs another unknown id (control)', unknownClient, token(`gh_${randomBytes(16).toString('hex')}`, 'wrong secret')],
        [`client: unknown id vs imported ${kind}, wrong secret`, unknownClient, token(setup.imported, 'wrong secret')],
        ['client: unknown id vs disabled', unknownClient, token(setup.disabled, setup.disabledSecret)],
        ['client: unknown id vs native, wrong secret', unknownClient, token(setup.native, 'wrong secret')],
      ];
      const env = await store.environments.findByName(kind);
      if (!env) throw new Error(`no environment ${kind}`);
      const limits = { usernameLimit: 1_000_000, addressLimit: 1_000_000, windowMs: 60_000, passwordCost: { log2N: 14, r: 8, p: 1 } };
      const users = new UserAuthenticator(store, systemClock, limits, keyedHasher(config.keySecret, 'login attempts'), app.core.legacy);
      const login = (username: string) => () =>
        users.authenticate(env, username, 'wrong password', '127.0.0.1').then((outcome) => {
          if (outcome.ok || outcome.throttled || outcome.busy) throw new Error(`expected a plain refusal, got ${JSON.stringify(outcome)}`);
        });
      pairs.push(
        [`login: unknown vs imported ${kind}`, login('nobody@example.test'), login('imported@example.test')],
        ['login: unknown vs native', login('nobody@example.test'), login('native@example.test')],
      );
      for (const [label, a, b] of pairs) {
        const [timesA, timesB] = await alternate(a, b, samples);
        const z = mannWhitneyZ(timesA, timesB);
        rows.push(
          `| ${kind} | ${label} | ${median(timesA).toFixed(2)} | ${median(timesB).toFixed(2)} | ${z.toFixed(2)} | ${Math.abs(z) >= 1.96 ? 'yes' : 'no'} |`,
        );
        process.stdout.write(`${rows[rows.length - 1]}\n`);
      }
    }
  } finally {
    await app.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(`\n${rows.join('\n')}\n`);
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64').replace(/=+$/, '');

/** A hash of `secret` under each kind, at the cost its provider uses by default. */
const LEGACY_HASHES: Record<string, (secret: string) => Promise<string>> = {
  BCRYPT: async (secret) => bcrypt.hashSync(secret, 10),
  PBKDF2: async (secret) => {
    const salt = randomBytes(16);
    return `$pbkdf2-sha256$i=25000,l=32$${b64(salt)}$${b64(pbkdf2Sync(secret, salt, 25_000, 32, 'sha256'))}`;
  },
  ARGON2ID: async (secret) =>
    argon2id({ password: secret, salt: randomBytes(16), parallelism: 1, iterations: 2, memorySize: 19_456, hashLength: 32, outputType: 'encoded' }),
};

async function environment(admin: AdminService, store: Store, name: string, hash: (secret: string) => Promise<string>) {
  await admin.createEnvironment(name);
  const env = await store.environments.findByName(name);
  if (!env) throw new Error(`no environment ${name}`);
  const create = async (clientName: string) => {
    const created = await admin.createClient({ env: name, name: clientName, grantTypes: ['client_credentials'], scopes: ['read'] });
    return { id: created.client_id, secret: created.client_secret ?? '' };
  };
  const imported = await create('imported');
  const [secret] = await store.clients.activeSecrets(env.id, imported.id, Date.now());
  if (!secret) throw new Error('no secret');
  // As `gatehouse import` leaves it: the secret under the old provider's hash until its first use.
  await store.clients.replaceSecretHash(env.id, imported.id, secret.id, secret.secretHash, await hash(imported.secret));
  const native = await create('native');
  const disabled = await create('disabled');
  await admin.setClientEnabled(name, disabled.id, false);
  const now = Date.now();
  const user = (username: string, passwordHash: string) =>
    store.users.create({
      envId: env.id,
      userId: `usr_${randomBytes(8).toString('hex')}`,
      username,
      passwordHash,
      enabled: true,
      createdAt: now,
      updatedAt: now,
    });
  await user('imported@example.test', await hash('imported password'));
  await user('native@example.test', await hashPassword('native password', { log2N: 14, r: 8, p: 1 }));
  return { imported: imported.id, native: native.id, disabled: disabled.id, disabledSecret: disabled.secret };
}

/**
 * Times `n` calls of each, one at a time, in rounds of one A and one B in random order (A B or
 * B A): load that changes over time reaches both sides alike, and nothing that recurs every
 * other call (a collection in the hash worker, say) can line up with one side. A few unrecorded
 * warm-ups first.
 */
async function alternate(a: () => Promise<unknown>, b: () => Promise<unknown>, n: number): Promise<[number[], number[]]> {
  const timed = async (f: () => Promise<unknown>) => {
    const started = performance.now();
    await f();
    return performance.now() - started;
  };
  for (let i = 0; i < 5; i++) await Promise.all([timed(a), timed(b)]);
  const [ta, tb]: [number[], number[]] = [[], []];
  for (let i = 0; i < n; i++) {
    if (randomInt(2) === 0) {
      ta.push(await timed(a));
      tb.push(await timed(b));
    } else {
      tb.push(await timed(b));
      ta.push(await timed(a));
    }
  }
  return [ta, tb];
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** The Mann–Whitney U statistic of `a` against `b` as a z score (ties get their mean rank). */
export function mannWhitneyZ(a: number[], b: number[]): number {
  const all = [...a.map((v) => ({ v, fromA: true })), ...b.map((v) => ({ v, fromA: false }))].sort((x, y) => x.v - y.v);
  let rankSumA = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j + 1 < all.length && all[j + 1]?.v === all[i]?.v) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (all[k]?.fromA) rankSumA += rank;
    i = j + 1;
  }
  const [n1, n2] = [a.length, b.length];
  const u = rankSumA - (n1 * (n1 + 1)) / 2;
  const mean = (n1 * n2) / 2;
  const sd = Math.sqrt((n1 * n2 * (n1 + n2 + 1)) / 12);
  return (u - mean) / sd;
}
