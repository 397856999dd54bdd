import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/config.ts';
import { oauthPolicy } from '../../src/server/policies.ts';

describe('the refresh retry grace period setting', () => {
  it('is 10 seconds by default, may be 0 (off) up to 60, from the environment or the file, and reaches the OAuth core', () => {
    assert.equal(loadConfig({}).refreshRetryGrace, 10);
    assert.equal(loadConfig({ GATEHOUSE_REFRESH_RETRY_GRACE: '0' }).refreshRetryGrace, 0);
    assert.equal(loadConfig({ GATEHOUSE_REFRESH_RETRY_GRACE: '60' }).refreshRetryGrace, 60);
    const file = join(tmpdir(), `gatehouse-refresh-retry-${process.pid}.json`);
    writeFileSync(file, JSON.stringify({ refreshRetryGrace: 3 }));
    try {
      assert.equal(loadConfig({}, file).refreshRetryGrace, 3);
      assert.equal(loadConfig({ GATEHOUSE_REFRESH_RETRY_GRACE: '5' }, file).refreshRetryGrace, 5, 'the variable wins');
    } finally {
      rmSync(file, { force: true });
    }
    assert.equal(oauthPolicy(loadConfig({ GATEHOUSE_REFRESH_RETRY_GRACE: '7' })).refreshRetryGrace, 7);
  });

  it('refuses a bad value at start-up, naming the setting', () => {
    for (const [value, message] of [
      ['61', /GATEHOUSE_REFRESH_RETRY_GRACE: must be between 0 and 60, got 61/],
      ['-1', /GATEHOUSE_REFRESH_RETRY_GRACE: must be a whole number/],
      ['2.5', /GATEHOUSE_REFRESH_RETRY_GRACE: must be a whole number/],
      ['ten', /GATEHOUSE_REFRESH_RETRY_GRACE: must be a whole number/],
    ] as const) {
      assert.throws(
        () => loadConfig({ GATEHOUSE_REFRESH_RETRY_GRACE: value }),
        (error: unknown) => error instanceof ConfigError && message.test(error.message),
      );
    }
  });
});
