import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { documentationFiles, fencedBlocks, readDoc, repoRoot } from './markdown.ts';
import { runShellBlocks, scriptOf, startsServer } from './shell-runner.ts';

/**
 * Every ```sh block of README.md and docs/ runs here, as written and in order, one shell per
 * file (a block may use what an earlier one of its file set), against a real built server:
 * a fresh `./bin/gatehouse serve --dev`, or the one a block starts itself. ```text blocks are
 * output, or commands that cannot run here. Nothing is skipped: a failing command fails the file.
 */

const PER_FILE_TIMEOUT_MS = 120_000;

function fenceReport(file: string, lastBlockLine: number, output: string, serverLog: string, timedOut: boolean): string {
  const tail = (text: string): string => text.split('\n').slice(-40).join('\n');
  const where = lastBlockLine === 0 ? 'the server started before its first block' : `the block on line ${lastBlockLine}`;
  return `${file}: ${where} ${timedOut ? 'did not end in time' : 'failed'}\n--- output ---\n${tail(output)}\n--- server log ---\n${tail(serverLog)}`;
}

describe('the shell blocks of the documentation', { concurrency: 2 }, () => {
  // Like the other tests of ./bin/gatehouse, this one runs the build `npm install` and CI make.
  assert.ok(existsSync(join(repoRoot, 'dist', 'gatehouse.js')), 'dist/gatehouse.js is missing: run `npm run build` first');
  // The tools the blocks use, as a reader's shell has them; missing, the test fails (never skips).
  for (const tool of ['bash', 'curl', 'jq', 'openssl']) {
    const found = (process.env.PATH ?? '').split(':').some((dir) => dir !== '' && existsSync(join(dir, tool)));
    assert.ok(found, `${tool} is not on PATH: the documentation's shell blocks need it (apt-get install ${tool})`);
  }

  for (const file of documentationFiles()) {
    const blocks = fencedBlocks(readDoc(file)).filter((block) => block.lang === 'sh');
    if (blocks.length === 0) continue;
    it(`${file}: its ${blocks.length} sh block(s) run as written`, async () => {
      const run = await runShellBlocks(blocks, { timeoutMs: PER_FILE_TIMEOUT_MS });
      assert.equal(run.code, 0, fenceReport(file, run.lastBlockLine, run.output, run.serverLog, run.timedOut));
    });
  }
});

describe('the runner', () => {
  it('fails a file when a command of a block fails, and names that block', async () => {
    const run = await runShellBlocks(
      [
        { lang: 'sh', line: 3, body: 'BASE="$GATEHOUSE_PUBLIC_URL"\necho "$BASE"' },
        { lang: 'sh', line: 9, body: 'false\necho unreachable' },
        { lang: 'sh', line: 14, body: 'echo never' },
      ],
      { timeoutMs: PER_FILE_TIMEOUT_MS, server: false },
    );
    assert.notEqual(run.code, 0);
    assert.equal(run.lastBlockLine, 9);
    assert.ok(!run.output.includes('unreachable') && !run.output.includes('never'));
  });

  it('fails on an error inside a pipeline and on an unset variable', async () => {
    for (const body of ['curl -sS --fail-with-body "$GATEHOUSE_PUBLIC_URL/nowhere" | cat', 'echo "$NOT_SET_ANYWHERE"']) {
      const run = await runShellBlocks([{ lang: 'sh', line: 1, body }], { timeoutMs: PER_FILE_TIMEOUT_MS, server: false });
      assert.notEqual(run.code, 0, body);
    }
  });

  it('stops a file that does not end in time, and fails it', async () => {
    const run = await runShellBlocks([{ lang: 'sh', line: 1, body: 'sleep 30' }], { timeoutMs: 300, server: false });
    assert.notEqual(run.code, 0);
    assert.ok(run.timedOut);
  });

  it('recognises the lines that start a server, which run in the background', () => {
    assert.ok(startsServer('npm start       # = ./bin/gatehouse serve --dev'));
    assert.ok(startsServer('GATEHOUSE_CONFIG=examples/compatibility-surfaces.json npm start'));
    assert.ok(startsServer('./bin/gatehouse serve --dev'));
    assert.ok(!startsServer('./bin/gatehouse client create --env DEVELOPMENT --name x'));
    assert.ok(!startsServer('echo npm start'));
    assert.ok(startsServer('./bin/gatehouse serve --dev > gatehouse.log 2>&1 &'));
    assert.match(
      scriptOf([{ lang: 'sh', line: 1, body: './bin/gatehouse serve --dev > g.log 2>&1 &' }], false),
      /\n\.\/bin\/gatehouse serve --dev > g\.log 2>&1 &\n/,
    );
  });
});

describe('the fences of the documentation', () => {
  it('name a language on every block: sh runs, text does not', () => {
    for (const file of documentationFiles()) {
      for (const block of fencedBlocks(readDoc(file))) assert.notEqual(block.lang, '', `${file}:${block.line}: a fence without a language`);
    }
  });
});
