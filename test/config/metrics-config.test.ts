import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEV_METRICS_PORT, serverConfig } from '../../src/cli/serve.ts';
import { ConfigError, loadConfig } from '../../src/config/config.ts';

describe('metrics settings', () => {
  it('has no metrics listener by default in production, 9464 in dev mode, and what is set otherwise', () => {
    const production = loadConfig({});
    assert.equal(production.metricsPort, undefined);
    assert.equal(production.metricsHost, '127.0.0.1');
    assert.equal(production.metricsMaxClients, 100);
    const base = { GATEHOUSE_DATA_DIR: '/nonexistent', GATEHOUSE_KEY_SECRET: 'a'.repeat(64) };
    assert.equal(serverConfig(loadConfig(base), true).metricsPort, DEV_METRICS_PORT);
    assert.equal(DEV_METRICS_PORT, 9464);
    assert.equal(serverConfig(loadConfig({ ...base, GATEHOUSE_METRICS_PORT: '9100' }), true).metricsPort, 9100);
    const set = loadConfig({ GATEHOUSE_METRICS_PORT: '9100', GATEHOUSE_METRICS_HOST: '0.0.0.0', GATEHOUSE_METRICS_MAX_CLIENTS: '0' });
    assert.deepEqual([set.metricsPort, set.metricsHost, set.metricsMaxClients], [9100, '0.0.0.0', 0]);
  });

  it('refuses bad values, naming the variable', () => {
    const bad: [string, string, RegExp][] = [
      ['GATEHOUSE_METRICS_PORT', 'on', /whole number/],
      ['GATEHOUSE_METRICS_PORT', '70000', /between 0 and 65535/],
      ['GATEHOUSE_METRICS_HOST', '   ', /non-empty/],
      ['GATEHOUSE_METRICS_MAX_CLIENTS', '-1', /whole number/],
      ['GATEHOUSE_METRICS_MAX_CLIENTS', '20000', /between 0 and 10000/],
    ];
    assert.throws(() => loadConfig({ GATEHOUSE_PORT: '9000', GATEHOUSE_METRICS_PORT: '9000' }), /GATEHOUSE_METRICS_PORT: must differ from GATEHOUSE_PORT/);
    for (const [name, value, message] of bad) {
      assert.throws(
        () => loadConfig({ [name]: value }),
        (error: unknown) => error instanceof ConfigError && error.message.includes(name) && message.test(error.message),
        `${name}=${value}`,
      );
    }
  });
});
