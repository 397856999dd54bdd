import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, it } from 'node:test';
import { anchorsOf, documentationFiles, readDoc, relativeLinks, repoRoot } from './markdown.ts';

describe('the links of the documentation', () => {
  for (const file of documentationFiles()) {
    it(`${file}: every relative link and anchor resolves`, () => {
      const broken: string[] = [];
      for (const { target, line } of relativeLinks(readDoc(file))) {
        const [pathPart = '', anchor] = target.split('#', 2);
        const linked = pathPart === '' ? file : normalize(join(dirname(file), decodeURIComponent(pathPart)));
        if (!existsSync(join(repoRoot, linked))) {
          broken.push(`${file}:${line}: ${target} (no such file)`);
          continue;
        }
        if (anchor !== undefined && linked.endsWith('.md') && !anchorsOf(readDoc(linked)).has(anchor)) {
          broken.push(`${file}:${line}: ${target} (no such heading in ${linked})`);
        }
      }
      assert.deepEqual(broken, []);
    });
  }

  it('the front page links every page under docs/', () => {
    const readme = readDoc('README.md');
    for (const file of documentationFiles().filter((path) => path.startsWith('docs/'))) {
      assert.ok(readme.includes(`](${file}`), `README.md does not link ${file}`);
    }
  });
});
