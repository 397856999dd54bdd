import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { CONFIG_FIELDS } from '../../src/config/config.ts';

const read = (path: string): string => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const readme = read('README.md');
const configuration = read('docs/configuration.md');

test('the configuration reference documents every setting with its file key', () => {
  for (const field of Object.values(CONFIG_FIELDS)) {
    assert.ok(configuration.includes(`| \`${field.env}\` | \`${field.file}\` |`), `docs/configuration.md lacks a row for ${field.env}`);
  }
});

test('the front page links the configuration reference and stays a front page', () => {
  assert.ok(readme.includes('](docs/configuration.md)'));
  assert.ok(readme.split('\n').length <= 250, 'README.md is a front page: at most about 250 lines, the rest under docs/');
});

test("the README's start command and the docs' test command are the ones package.json runs", () => {
  const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
  assert.match(pkg.scripts.test ?? '', /^node --test --test-concurrency=2 --import tsx --test-reporter=tap \$\(find test -name '\*\.test\.ts' \| sort\)$/);
  assert.ok(read('docs/development.md').includes('npm test'));
  assert.equal(pkg.scripts.start, 'node bin/gatehouse serve --dev');
  assert.ok(readme.includes('npm start       # = ./bin/gatehouse serve --dev'));
});

test('the endpoints page names every grant the token endpoint takes', async () => {
  const { GRANT_MODULES } = await import('../../src/oauth/grants/index.ts');
  const row =
    read('docs/endpoints.md')
      .split('\n')
      .find((line) => line.startsWith('| `POST ISSUER/token` |')) ?? '';
  for (const grant of GRANT_MODULES) assert.ok(row.includes(`\`${grant.grantType}\``), `docs/endpoints.md: the token endpoint row lacks ${grant.grantType}`);
});
