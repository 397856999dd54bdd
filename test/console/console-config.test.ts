import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/config.ts';

describe('web console settings', () => {
  it('default to no shared client secret and a one-hour sign-in', () => {
    const config = loadConfig({});
    assert.equal(config.consoleClientSecret, undefined);
    assert.equal(config.consoleSessionTtl, 3600);
  });

  it('read the client secret and the session lifetime, and refuse a lifetime out of bounds', () => {
    const config = loadConfig({ GATEHOUSE_CONSOLE_CLIENT_SECRET: ' s3cret ', GATEHOUSE_CONSOLE_SESSION_TTL: '900' });
    assert.equal(config.consoleClientSecret, 's3cret');
    assert.equal(config.consoleSessionTtl, 900);
    assert.throws(
      () => loadConfig({ GATEHOUSE_CONSOLE_SESSION_TTL: '30' }),
      (error: unknown) => error instanceof ConfigError && /GATEHOUSE_CONSOLE_SESSION_TTL/.test(error.message),
    );
    assert.throws(() => loadConfig({ GATEHOUSE_CONSOLE_SESSION_TTL: '86401' }), ConfigError);
  });
});
