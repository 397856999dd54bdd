import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ManualClock } from '../../src/domain/clock.ts';
import { UsageRecorder, utcDay } from '../../src/observability/usage.ts';
import { openStore } from '../../src/store/open.ts';
import { runCli } from '../helpers/cli.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-usage-cli-'));
const env: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  GATEHOUSE_DATA_DIR: dataDir,
  GATEHOUSE_LOG_LEVEL: 'warn',
  GATEHOUSE_KEY_SECRET: randomBytes(32).toString('hex'),
  GATEHOUSE_PUBLIC_URL: 'https://auth.example.test',
};
after(() => rmSync(dataDir, { recursive: true, force: true }));

async function run(args: string[]): Promise<string> {
  const result = await runCli(args, env);
  assert.equal(result.code, 0, `gatehouse ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}
const json = async <T = Record<string, unknown>>(args: string[]): Promise<T> => JSON.parse(await run(args)) as T;

interface Shown {
  last_used_at: string | null;
  secrets: { id: string; last_used_at: string | null }[];
  tokens_today: number;
  tokens_last_30_days: number;
}

describe('last used and token counts in the CLI', () => {
  let envId: string;
  let clientId: string;
  let idleClientId: string;
  let secretId: string;
  let accountId: string;
  let kid: string;
  let idleKid: string;

  before(async () => {
    assert.ok(existsSync(join(ROOT, 'dist', 'gatehouse.js')), 'dist/gatehouse.js is missing: run `npm run build` first');
    await run(['env', 'create', 'PROD', '--json']);
    clientId = String((await json(['client', 'create', '--env', 'PROD', '--name', 'busy', '--json'])).client_id);
    idleClientId = String((await json(['client', 'create', '--env', 'PROD', '--name', 'idle', '--json'])).client_id);
    secretId = (await json<Shown>(['client', 'show', clientId, '--env', 'PROD', '--json'])).secrets[0]?.id ?? '';
    accountId = String((await json(['service-account', 'create', '--env', 'PROD', '--name', 'reporter', '--json'])).service_account_id);
    kid = String((await json(['service-account', 'key', 'create', accountId, '--env', 'PROD', '--json'])).kid);
    idleKid = String((await json(['service-account', 'key', 'create', accountId, '--env', 'PROD', '--json'])).kid);
    const store = openStore(join(dataDir, 'gatehouse.db'));
    try {
      envId = (await store.environments.findByName('PROD'))?.id ?? '';
      await store.users.create({ envId, userId: 'u-alice', username: 'alice', passwordHash: 'x', enabled: true, createdAt: 0, updatedAt: 0 });
    } finally {
      await store.close();
    }
  });

  it('shows never before any use, in tables and as null in JSON', async () => {
    const shown = await json<Shown>(['client', 'show', clientId, '--env', 'PROD', '--json']);
    assert.equal(shown.last_used_at, null);
    assert.equal(shown.secrets[0]?.last_used_at, null);
    assert.equal(shown.tokens_today, 0);
    assert.equal(shown.tokens_last_30_days, 0);
    assert.match(await run(['client', 'show', clientId, '--env', 'PROD']), /^last_used\s+never$/m);
  });

  it('after tokens are issued and a flush, show, list and key list print the last-used times and counts', async () => {
    const at = Date.now();
    const store = openStore(join(dataDir, 'gatehouse.db'));
    try {
      const recorder = new UsageRecorder(store.usage, new ManualClock(at));
      const prod = { id: envId, name: 'PROD' };
      for (let i = 0; i < 3; i++) {
        recorder.listener({ type: 'token.issued', env: prod, clientId, grantType: 'client_credentials', credential: { kind: 'client_secret', id: secretId } });
      }
      recorder.listener({ type: 'token.issued', env: prod, clientId: accountId, grantType: 'jwt-bearer', credential: { kind: 'key', id: kid } });
      recorder.listener({ type: 'user.login', env: prod, outcome: 'success', userId: 'u-alice' });
      await recorder.flush();
    } finally {
      await store.close();
    }
    const iso = new Date(at).toISOString();

    const shown = await json<Shown>(['client', 'show', clientId, '--env', 'PROD', '--json']);
    assert.equal(shown.last_used_at, iso);
    assert.deepEqual(
      shown.secrets.map((s) => [s.id, s.last_used_at]),
      [[secretId, iso]],
    );
    assert.equal(shown.tokens_last_30_days, 3);
    if (utcDay(at) === utcDay(Date.now())) assert.equal(shown.tokens_today, 3);
    const human = await run(['client', 'show', clientId, '--env', 'PROD']);
    assert.match(human, new RegExp(`^last_used\\s+${iso}$`, 'm'));
    assert.match(human, /^tokens_last_30_days\s+3$/m);
    assert.match(human, /^SECRET_ID\s+CREATED_AT\s+EXPIRES_AT\s+LAST_USED$/m);
    assert.match(human, new RegExp(`^${secretId}\\s+\\S+\\s+-\\s+${iso}$`, 'm'));

    const list = (await run(['client', 'list', '--env', 'PROD'])).trimEnd().split('\n');
    assert.match(list[0] ?? '', /\sLAST_USED$/);
    assert.match(list.find((line) => line.startsWith(clientId)) ?? '', new RegExp(`\\s${iso}$`));
    assert.match(list.find((line) => line.startsWith(idleClientId)) ?? '', /\snever$/);
    const listed = await json<{ client_id: string; last_used_at: string | null }[]>(['client', 'list', '--env', 'PROD', '--json']);
    assert.equal(listed.find((c) => c.client_id === idleClientId)?.last_used_at, null);

    const keys = (await run(['service-account', 'key', 'list', accountId, '--env', 'PROD'])).trimEnd().split('\n');
    assert.match(keys[0] ?? '', /^KID\s+ALG\s+STATUS\s+CREATED_AT\s+REVOKED_AT\s+LAST_USED$/);
    assert.match(keys.find((line) => line.startsWith(kid)) ?? '', new RegExp(`\\s${iso}$`));
    assert.match(keys.find((line) => line.startsWith(idleKid)) ?? '', /\snever$/);
    const keyJson = await json<{ kid: string; last_used_at: string | null }[]>(['service-account', 'key', 'list', accountId, '--env', 'PROD', '--json']);
    assert.equal(keyJson.find((k) => k.kid === kid)?.last_used_at, iso);

    const users = (await run(['user', 'list', '--env', 'PROD'])).trimEnd().split('\n');
    assert.match(users[0] ?? '', /\sLAST_LOGIN$/);
    assert.match(users.find((line) => line.startsWith('alice')) ?? '', new RegExp(`\\s${iso}$`));
  });
});
