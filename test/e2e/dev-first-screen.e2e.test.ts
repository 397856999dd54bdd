import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type DevServer, startDevServer } from '../helpers/dev-server.ts';

const CURL_LINE = /curl -s -u '([^':]+):([^']+)' -d grant_type=client_credentials (http:\/\/\S+)/;

describe('the first screen of `gatehouse serve --dev`', () => {
  let server: DevServer;

  before(async () => {
    // At info level, as `npm start` runs it: audit and listening lines are logged while it starts.
    server = await startDevServer({ GATEHOUSE_LOG_LEVEL: 'info' });
    await server.waitFor(CURL_LINE, 'the curl line');
    await server.waitFor(/audit server\.started/, 'the server.started audit line');
  });

  after(async () => {
    await server?.stop();
  });

  it('begins with the banner, whole, and logs readable lines after it, never JSON', () => {
    const stdout = server.stdout();
    assert.match(stdout, /^Gatehouse is listening on http:\/\/127\.0\.0\.1:\d+ \(development mode\)\n/);
    const lines = stdout.split('\n');
    const curl = lines.findIndex((line) => CURL_LINE.test(line));
    const firstLog = lines.findIndex((line) => /^\[\d\d:\d\d:\d\d\] [A-Z]+: /.test(line));
    assert.ok(curl > 0 && firstLog > curl, `the log lines follow the banner:\n${stdout}`);
    assert.ok(
      lines.slice(0, curl).every((line) => !/^\[\d\d:\d\d:\d\d\]/.test(line)),
      'no log line inside the banner',
    );
    assert.ok(!lines.some((line) => line.startsWith('{')), `no JSON line:\n${stdout}`);
    assert.ok(lines.some((line) => /INFO: audit server\.started server \S+ by system gatehouse: success$/.test(line)));
  });

  it('keeps JSON when GATEHOUSE_LOG_FORMAT=json', async () => {
    const json = await startDevServer({ GATEHOUSE_LOG_LEVEL: 'info', GATEHOUSE_LOG_FORMAT: 'json' });
    try {
      await json.waitFor(/"type":"server\.started"/, 'the server.started audit line');
      const stdout = json.stdout();
      assert.match(stdout, /^Gatehouse is listening/);
      const logs = stdout.split('\n').filter((line) => line.startsWith('{'));
      assert.ok(logs.length > 0);
      for (const line of logs) assert.equal(typeof (JSON.parse(line) as { level: number }).level, 'number');
    } finally {
      await json.stop();
    }
  });
});
