import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { logFormat } from '../../src/cli/serve.ts';
import { loadConfig } from '../../src/config/config.ts';
import { ConfigError } from '../../src/domain/config-error.ts';
import { createLogger, HeldDestination, logDestination } from '../../src/server/logger.ts';

/** A stream that keeps what is written to it. */
function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

describe('log format', () => {
  it('is pretty with serve --dev and JSON otherwise, unless GATEHOUSE_LOG_FORMAT says', () => {
    assert.equal(logFormat(loadConfig({}), true), 'pretty');
    assert.equal(logFormat(loadConfig({}), false), 'json');
    assert.equal(logFormat(loadConfig({ GATEHOUSE_LOG_FORMAT: 'json' }), true), 'json');
    assert.equal(logFormat(loadConfig({ GATEHOUSE_LOG_FORMAT: 'pretty' }), false), 'pretty');
    assert.throws(
      () => loadConfig({ GATEHOUSE_LOG_FORMAT: 'yaml' }),
      (error: unknown) => error instanceof ConfigError && /json, pretty/.test(error.message),
    );
  });

  it('writes one readable line per entry, credentials still redacted', () => {
    const out = sink();
    const logger = createLogger('info', logDestination('pretty', out.stream));
    logger.info({ body: { client_secret: 's3cr3t-value', device_code: 'dc-value' } }, 'token refused');
    logger.info(
      {
        audit: {
          type: 'client.created',
          outcome: 'success',
          environment: { name: 'DEVELOPMENT' },
          actor: { kind: 'operator', id: 'usr_1' },
          subject: { kind: 'client', id: 'gh_1' },
        },
      },
      'audit event',
    );
    const lines = out.text().trimEnd().split('\n');
    assert.equal(lines.length, 2, out.text());
    assert.match(lines[0] ?? '', /^\[\d\d:\d\d:\d\d\] INFO: token refused /);
    assert.doesNotMatch(out.text(), /s3cr3t-value|dc-value/);
    assert.match(lines[0] ?? '', /\[redacted\]/);
    assert.match(lines[1] ?? '', /INFO: audit client\.created client gh_1 in DEVELOPMENT by operator usr_1: success$/);
    assert.doesNotMatch(out.text(), /^\{/m, 'no JSON line');
  });

  it('keeps JSON lines in the json format', () => {
    const out = sink();
    createLogger('info', logDestination('json', out.stream)).info({ n: 1 }, 'hello');
    assert.equal((JSON.parse(out.text()) as { msg: string }).msg, 'hello');
  });
});

describe('a held log destination', () => {
  it('passes entries through, holds them while held, and writes them in order when released', () => {
    const out: string[] = [];
    const held = new HeldDestination({ write: (chunk: string) => void out.push(chunk) });
    held.write('a');
    held.hold();
    held.write('b');
    held.write('c');
    assert.deepEqual(out, ['a']);
    held.release();
    held.write('d');
    assert.deepEqual(out, ['a', 'b', 'c', 'd']);
  });

  it('lets a long hold through rather than grow without bound', () => {
    const out: string[] = [];
    const held = new HeldDestination({ write: (chunk: string) => void out.push(chunk) }, 3);
    held.hold();
    for (const chunk of ['1', '2', '3', '4']) held.write(chunk);
    assert.deepEqual(out, ['1', '2', '3', '4']);
  });
});
