import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/config.ts';

const SECRET = `whsec_${Buffer.alloc(32, 5).toString('base64')}`;

describe('audit settings', () => {
  it('defaults to 90 days and no webhook', () => {
    const config = loadConfig({});
    assert.equal(config.auditRetention, 90);
    assert.equal(config.auditWebhookUrl, undefined);
    assert.equal(config.auditWebhookSecret, undefined);
  });

  it('reads a webhook URL with its secret, decoding whsec_ or taking 32+ characters as they are', () => {
    const config = loadConfig({
      GATEHOUSE_AUDIT_RETENTION: '7',
      GATEHOUSE_AUDIT_WEBHOOK_URL: 'https://hooks.example.test/audit',
      GATEHOUSE_AUDIT_WEBHOOK_SECRET: SECRET,
    });
    assert.equal(config.auditRetention, 7);
    assert.equal(config.auditWebhookUrl, 'https://hooks.example.test/audit');
    assert.deepEqual(config.auditWebhookSecret, Buffer.alloc(32, 5));
    const plain = loadConfig({ GATEHOUSE_AUDIT_WEBHOOK_URL: 'http://127.0.0.1:9000/', GATEHOUSE_AUDIT_WEBHOOK_SECRET: 'k'.repeat(40) });
    assert.deepEqual(plain.auditWebhookSecret, Buffer.from('k'.repeat(40)));
  });

  it('refuses a URL without a secret, a secret without a URL, a short secret, a bad URL and a bad retention, never echoing the secret', () => {
    const cases: [NodeJS.ProcessEnv, string, RegExp][] = [
      [{ GATEHOUSE_AUDIT_WEBHOOK_URL: 'https://hooks.example.test/' }, 'GATEHOUSE_AUDIT_WEBHOOK_SECRET', /required with GATEHOUSE_AUDIT_WEBHOOK_URL/],
      [{ GATEHOUSE_AUDIT_WEBHOOK_SECRET: SECRET }, 'GATEHOUSE_AUDIT_WEBHOOK_URL', /required with GATEHOUSE_AUDIT_WEBHOOK_SECRET/],
      [
        { GATEHOUSE_AUDIT_WEBHOOK_URL: 'https://hooks.example.test/', GATEHOUSE_AUDIT_WEBHOOK_SECRET: 'whsec_dG9vIHNob3J0' },
        'GATEHOUSE_AUDIT_WEBHOOK_SECRET',
        /at least 32/,
      ],
      [
        { GATEHOUSE_AUDIT_WEBHOOK_URL: 'https://hooks.example.test/', GATEHOUSE_AUDIT_WEBHOOK_SECRET: 'too-short-secret' },
        'GATEHOUSE_AUDIT_WEBHOOK_SECRET',
        /at least 32/,
      ],
      [{ GATEHOUSE_AUDIT_WEBHOOK_URL: 'ftp://hooks.example.test/', GATEHOUSE_AUDIT_WEBHOOK_SECRET: SECRET }, 'GATEHOUSE_AUDIT_WEBHOOK_URL', /http\(s\)/],
      [{ GATEHOUSE_AUDIT_WEBHOOK_URL: 'not a url', GATEHOUSE_AUDIT_WEBHOOK_SECRET: SECRET }, 'GATEHOUSE_AUDIT_WEBHOOK_URL', /not a valid URL/],
      [{ GATEHOUSE_AUDIT_RETENTION: '0' }, 'GATEHOUSE_AUDIT_RETENTION', /between 1 and 3650/],
    ];
    for (const [env, setting, message] of cases) {
      assert.throws(
        () => loadConfig(env),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError);
          assert.match(error.message, new RegExp(setting));
          assert.match(error.message, message);
          assert.ok(!error.message.includes(SECRET.slice(6)) && !error.message.includes('too-short-secret'));
          return true;
        },
      );
    }
  });
});
