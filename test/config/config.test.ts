import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type Config, ConfigError, loadConfig, requireProductionSettings } from '../../src/config/config.ts';

const HEX_SECRET = 'a1'.repeat(32);
const B64URL_SECRET = Buffer.alloc(32, 0xfb).toString('base64url');

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let fileCounter = 0;
function configFile(content: unknown): string {
  const path = join(dir, `config-${++fileCounter}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

/** Asserts that loading throws a ConfigError whose key and message name `key`. */
function assertRejects(env: NodeJS.ProcessEnv, key: string, configPath?: string, message?: RegExp): ConfigError {
  let caught: unknown;
  try {
    loadConfig(env, configPath);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError for ${JSON.stringify(env)}, got ${String(caught)}`);
  assert.ok(caught.key.startsWith(key), `key ${caught.key} should name ${key}`);
  assert.ok(caught.message.includes(key), `message should name ${key}: ${caught.message}`);
  if (message) assert.match(caught.message, message);
  return caught;
}

function productionError(config: Config): ConfigError {
  let caught: unknown;
  try {
    requireProductionSettings(config);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${String(caught)}`);
  return caught;
}

describe('loadConfig defaults', () => {
  it('fills in every default from an empty environment', () => {
    const config = loadConfig({});
    assert.equal(config.port, 8080);
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.dataDir, './data');
    assert.equal(config.databaseUrl, './data/gatehouse.db');
    assert.equal(config.signingAlgorithm, 'ES256');
    assert.equal(config.logLevel, 'info');
    assert.equal(config.publicUrl, undefined);
    assert.equal(config.keySecret, undefined);
    assert.equal(config.accessTokenTtl, 3600);
    assert.equal(config.maxAccessTokenTtl, 86_400);
    assert.equal(config.authorizationCodeTtl, 60);
    assert.equal(config.passwordHashCost, 17);
    assert.deepEqual(config.trustProxy, []);
  });

  it('reads trusted proxies as addresses and CIDR ranges', () => {
    assert.deepEqual(loadConfig({ GATEHOUSE_TRUST_PROXY: '10.0.0.1, 10.1.0.0/16,::1, fd00::/8' }).trustProxy, ['10.0.0.1', '10.1.0.0/16', '::1', 'fd00::/8']);
  });

  it('derives the database path from GATEHOUSE_DATA_DIR', () => {
    assert.equal(loadConfig({ GATEHOUSE_DATA_DIR: '/var/lib/gh' }).databaseUrl, '/var/lib/gh/gatehouse.db');
  });

  it('treats an empty variable as unset', () => {
    assert.equal(loadConfig({ GATEHOUSE_PORT: '' }).port, 8080);
  });

  it('returns a frozen object', () => {
    const config = loadConfig({ GATEHOUSE_PORT: '9000' });
    assert.ok(Object.isFrozen(config));
    assert.throws(() => {
      (config as { port: number }).port = 1;
    }, TypeError);
    assert.equal(config.port, 9000);
  });
});

describe('loadConfig sources', () => {
  it('reads a JSON config file', () => {
    const path = configFile({ port: 9100, host: '0.0.0.0', signingAlgorithm: 'EdDSA', publicUrl: 'https://file.example.test/' });
    const config = loadConfig({}, path);
    assert.equal(config.port, 9100);
    assert.equal(config.host, '0.0.0.0');
    assert.equal(config.signingAlgorithm, 'EdDSA');
    assert.equal(config.publicUrl, 'https://file.example.test');
  });

  it('lets GATEHOUSE_* variables override the config file', () => {
    const path = configFile({ port: 9100, signingAlgorithm: 'EdDSA', logLevel: 'debug', publicUrl: 'https://file.example.test' });
    const config = loadConfig(
      { GATEHOUSE_PORT: '9200', GATEHOUSE_SIGNING_ALG: 'ES256', GATEHOUSE_PUBLIC_URL: 'https://env.example.test/base/', GATEHOUSE_LOG_LEVEL: 'warn' },
      path,
    );
    assert.equal(config.port, 9200);
    assert.equal(config.signingAlgorithm, 'ES256');
    assert.equal(config.logLevel, 'warn');
    assert.equal(config.publicUrl, 'https://env.example.test/base');
  });

  it('a variable overrides a bad file value instead of failing on it', () => {
    const path = configFile({ port: 'not-a-port' });
    assert.equal(loadConfig({ GATEHOUSE_PORT: '9300' }, path).port, 9300);
  });

  it('finds the file through GATEHOUSE_CONFIG', () => {
    const path = configFile({ port: 9400 });
    assert.equal(loadConfig({ GATEHOUSE_CONFIG: path }).port, 9400);
  });

  it('names the file key and the file for a bad file value', () => {
    const path = configFile({ port: 'abc' });
    const error = assertRejects({}, 'port', path);
    assert.ok(error.message.includes(path), error.message);
  });
});

describe('loadConfig rejects bad values, naming the key', () => {
  const cases: [string, NodeJS.ProcessEnv, string][] = [
    ['a non-numeric port', { GATEHOUSE_PORT: 'abc' }, 'GATEHOUSE_PORT'],
    ['a port above 65535', { GATEHOUSE_PORT: '70000' }, 'GATEHOUSE_PORT'],
    ['a negative port', { GATEHOUSE_PORT: '-1' }, 'GATEHOUSE_PORT'],
    ['a fractional port', { GATEHOUSE_PORT: '80.5' }, 'GATEHOUSE_PORT'],
    ['a symmetric signing algorithm', { GATEHOUSE_SIGNING_ALG: 'HS256' }, 'GATEHOUSE_SIGNING_ALG'],
    ['alg none', { GATEHOUSE_SIGNING_ALG: 'none' }, 'GATEHOUSE_SIGNING_ALG'],
    ['a MySQL URL', { GATEHOUSE_DATABASE_URL: 'mysql://x' }, 'GATEHOUSE_DATABASE_URL'],
    ['a key secret of 31 bytes (hex)', { GATEHOUSE_KEY_SECRET: 'ab'.repeat(31) }, 'GATEHOUSE_KEY_SECRET'],
    ['a short key secret (base64url)', { GATEHOUSE_KEY_SECRET: 'c2hvcnQ' }, 'GATEHOUSE_KEY_SECRET'],
    ['a key secret that is neither hex nor base64url', { GATEHOUSE_KEY_SECRET: `${'x'.repeat(40)}!@#$%^` }, 'GATEHOUSE_KEY_SECRET'],
    [
      'a key secret in standard base64 with padding',
      { GATEHOUSE_KEY_SECRET: Buffer.alloc(33, 0xff).toString('base64').replace(/.$/, '=') },
      'GATEHOUSE_KEY_SECRET',
    ],
    ['a public URL with a query', { GATEHOUSE_PUBLIC_URL: 'https://auth.example.test/?x=1' }, 'GATEHOUSE_PUBLIC_URL'],
    ['a public URL with a fragment', { GATEHOUSE_PUBLIC_URL: 'https://auth.example.test/#frag' }, 'GATEHOUSE_PUBLIC_URL'],
    ['a public URL with an empty query marker', { GATEHOUSE_PUBLIC_URL: 'https://auth.example.test/base?' }, 'GATEHOUSE_PUBLIC_URL'],
    ['a public URL with credentials', { GATEHOUSE_PUBLIC_URL: 'https://user:pw@auth.example.test' }, 'GATEHOUSE_PUBLIC_URL'],
    ['a public URL that is not a URL', { GATEHOUSE_PUBLIC_URL: 'auth.example.test' }, 'GATEHOUSE_PUBLIC_URL'],
    ['a non-http public URL', { GATEHOUSE_PUBLIC_URL: 'ftp://auth.example.test' }, 'GATEHOUSE_PUBLIC_URL'],
    ['an unknown log level', { GATEHOUSE_LOG_LEVEL: 'verbose' }, 'GATEHOUSE_LOG_LEVEL'],
    ['a trusted proxy that is a host name', { GATEHOUSE_TRUST_PROXY: 'proxy.internal' }, 'GATEHOUSE_TRUST_PROXY'],
    ['a trusted proxy range with a bad prefix', { GATEHOUSE_TRUST_PROXY: '10.0.0.0/33' }, 'GATEHOUSE_TRUST_PROXY'],
    ['an authorization code lifetime over 10 minutes', { GATEHOUSE_AUTHORIZATION_CODE_TTL: '601' }, 'GATEHOUSE_AUTHORIZATION_CODE_TTL'],
    ['a password hash cost above 20', { GATEHOUSE_PASSWORD_HASH_COST: '21' }, 'GATEHOUSE_PASSWORD_HASH_COST'],
    ['a default TTL above the maximum', { GATEHOUSE_ACCESS_TOKEN_TTL: '7200', GATEHOUSE_MAX_ACCESS_TOKEN_TTL: '3600' }, 'GATEHOUSE_ACCESS_TOKEN_TTL'],
  ];
  for (const [label, env, key] of cases) {
    it(`rejects ${label}`, () => {
      assertRejects(env, key);
    });
  }

  it('rejects a missing config file', () => {
    const path = join(dir, 'does-not-exist.json');
    const error = assertRejects({}, 'GATEHOUSE_CONFIG', path);
    assert.ok(error.message.includes(path));
  });

  it('rejects a directory given as config file', () => {
    assertRejects({}, 'GATEHOUSE_CONFIG', dir);
  });

  it('rejects a config file that is not JSON', () => {
    assertRejects({}, 'GATEHOUSE_CONFIG', configFile('port = 8080'));
  });

  it('rejects a config file holding a JSON array or null', () => {
    assertRejects({}, 'GATEHOUSE_CONFIG', configFile([1, 2]));
    assertRejects({}, 'GATEHOUSE_CONFIG', configFile('null'));
  });

  it('rejects a key secret that is not a string in the file', () => {
    assertRejects({}, 'keySecret', configFile({ keySecret: 12345 }));
  });
});

describe('key secret', () => {
  it('accepts 64 hex characters as 32 bytes', () => {
    const secret = loadConfig({ GATEHOUSE_KEY_SECRET: HEX_SECRET }).keySecret;
    assert.ok(secret);
    assert.equal(secret.length, 32);
    assert.deepEqual(secret, Buffer.from(HEX_SECRET, 'hex'));
  });

  it('accepts 43 base64url characters as 32 bytes', () => {
    assert.equal(B64URL_SECRET.length, 43);
    const secret = loadConfig({ GATEHOUSE_KEY_SECRET: B64URL_SECRET }).keySecret;
    assert.ok(secret);
    assert.equal(secret.length, 32);
    assert.deepEqual(secret, Buffer.alloc(32, 0xfb));
  });

  it('ignores surrounding whitespace (a secret read from a file ends with a newline)', () => {
    assert.equal(loadConfig({ GATEHOUSE_KEY_SECRET: `${HEX_SECRET}\n` }).keySecret?.length, 32);
  });
});

describe('requireProductionSettings', () => {
  const production = (env: NodeJS.ProcessEnv) => loadConfig({ GATEHOUSE_KEY_SECRET: HEX_SECRET, ...env });

  it('accepts an https public URL with a key secret', () => {
    assert.doesNotThrow(() => requireProductionSettings(production({ GATEHOUSE_PUBLIC_URL: 'https://auth.example.test' })));
  });

  for (const url of ['http://127.0.0.1:8080', 'http://localhost:8080', 'http://[::1]:8080', 'http://127.9.8.7']) {
    it(`accepts loopback http ${url}`, () => {
      assert.doesNotThrow(() => requireProductionSettings(production({ GATEHOUSE_PUBLIC_URL: url })));
    });
  }

  it('requires a public URL', () => {
    const error = productionError(production({}));
    assert.equal(error.key, 'GATEHOUSE_PUBLIC_URL');
    assert.match(error.message, /GATEHOUSE_PUBLIC_URL/);
  });

  for (const url of ['http://example.com', 'http://10.0.0.1:8080', 'http://localhost.example.com', 'http://127.0.0.1.nip.io']) {
    it(`refuses non-loopback http ${url}`, () => {
      const error = productionError(production({ GATEHOUSE_PUBLIC_URL: url }));
      assert.equal(error.key, 'GATEHOUSE_PUBLIC_URL');
      assert.match(error.message, /https/);
    });
  }

  it('requires a key secret', () => {
    const error = productionError(loadConfig({ GATEHOUSE_PUBLIC_URL: 'https://auth.example.test' }));
    assert.equal(error.key, 'GATEHOUSE_KEY_SECRET');
    assert.match(error.message, /GATEHOUSE_KEY_SECRET/);
  });
});
