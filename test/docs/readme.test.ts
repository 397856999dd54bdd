import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { CONFIG_FIELDS } from '../../src/config/config.ts';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

test('the README documents every configuration setting with its file key', () => {
  for (const field of Object.values(CONFIG_FIELDS)) {
    assert.ok(readme.includes(`| \`${field.env}\` | \`${field.file}\` |`), `README lacks a row for ${field.env}`);
  }
});

test("the README's test command is the one package.json runs", () => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };
  assert.match(pkg.scripts.test ?? '', /^node --test --import tsx --test-reporter=tap \$\(find test -name '\*\.test\.ts' \| sort\)$/);
  assert.ok(readme.includes('npm test'));
  assert.equal(pkg.scripts.start, 'node bin/gatehouse serve --dev');
});
