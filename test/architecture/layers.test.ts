import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * The floors of `src/`, lowest first, and what each may import. A floor imports only floors
 * below it (and itself); `server/` is the one place that knows every layer below the CLI.
 */
const FLOORS: Record<string, readonly string[]> = {
  domain: [],
  // The pages' message catalogues and language choice: words only, no HTTP, no storage.
  i18n: ['domain'],
  crypto: ['domain'],
  // The library API providers install: it ships alone, so it stands on the lowest floors only.
  'resource-server': ['domain', 'crypto'],
  // Metrics, spans and usage records: what every floor above may report through.
  observability: ['domain'],
  store: ['domain', 'crypto', 'observability'],
  oauth: ['domain', 'crypto', 'observability'],
  // Audit events: recording, retention and webhook delivery, behind the port in domain/audit.ts.
  audit: ['domain', 'crypto', 'observability'],
  accounts: ['domain', 'crypto', 'observability', 'oauth'],
  admin: ['domain', 'crypto', 'observability', 'oauth', 'accounts', 'i18n'],
  // The admin HTTP API: an adapter over the application services, on its own listener.
  'admin-api': ['domain', 'crypto', 'observability', 'oauth', 'accounts', 'admin', 'i18n'],
  surfaces: ['domain', 'oauth'],
  pages: ['domain', 'oauth', 'i18n'],
  http: ['domain', 'crypto', 'observability', 'oauth', 'accounts', 'surfaces', 'pages', 'i18n'],
  config: ['domain', 'oauth', 'surfaces'],
  // The web console: server-rendered pages over the admin services, mounted on the admin listener.
  console: ['domain', 'crypto', 'oauth', 'accounts', 'admin', 'pages', 'i18n'],
  // Moving onto Gatehouse: source readers and the engine that writes their records through the storage port.
  import: ['domain', 'crypto', 'oauth', 'accounts'],
  server: [
    'domain',
    'crypto',
    'observability',
    'store',
    'oauth',
    'audit',
    'accounts',
    'admin',
    'admin-api',
    'console',
    'surfaces',
    'pages',
    'i18n',
    'http',
    'config',
  ],
  cli: [
    'domain',
    'crypto',
    'observability',
    'store',
    'oauth',
    'audit',
    'accounts',
    'admin',
    'admin-api',
    'console',
    'surfaces',
    'pages',
    'i18n',
    'http',
    'config',
    'server',
    'import',
  ],
};

/** Packages only some floors may use: the HTTP framework stays in the adapter and the wiring. */
const PACKAGE_FLOORS: Record<string, readonly string[]> = {
  fastify: ['http', 'admin-api', 'console', 'server'],
  kysely: ['store'],
  // Source readers read the old provider's database directly.
  pg: ['store', 'import'],
  mysql2: ['import'],
  'better-sqlite3': ['store'],
  commander: ['cli'],
  'prom-client': ['observability', 'server'],
  '@opentelemetry/api': ['observability'],
  bcryptjs: ['crypto'],
  'hash-wasm': ['crypto'],
  yaml: ['cli'],
};

type Graph = ReadonlyMap<string, readonly string[]>;

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'";]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g;

/** Every `.ts` file under `src/` with its import specifiers: relative ones resolved to `src/…` paths, packages by name. */
function importGraph(): { files: Graph; packages: Graph } {
  const files = new Map<string, string[]>();
  const packages = new Map<string, string[]>();
  for (const file of sourceFiles(join(ROOT, 'src'))) {
    const name = relative(ROOT, file);
    const text = readFileSync(file, 'utf8');
    const local: string[] = [];
    const external: string[] = [];
    for (const match of text.matchAll(IMPORT)) {
      const specifier = match[1] ?? match[2] ?? match[3] ?? '';
      if (specifier.startsWith('.')) local.push(normalize(join(dirname(name), specifier)));
      else if (!specifier.startsWith('node:'))
        external.push(specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : (specifier.split('/')[0] ?? ''));
    }
    files.set(name, local);
    packages.set(name, external);
  }
  return { files, packages };
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

const floorOf = (file: string): string | undefined => {
  const [top, floor, rest] = file.split('/');
  return top === 'src' && rest !== undefined ? floor : undefined;
};

/** Imports that go up a floor, sideways into a floor not allowed, or out of `src/`'s floors. */
export function floorViolations(graph: Graph, floors: Record<string, readonly string[]> = FLOORS): string[] {
  const problems: string[] = [];
  for (const [file, imports] of graph) {
    const floor = floorOf(file);
    if (floor === undefined || !(floor in floors)) {
      problems.push(`${file} is on no floor (${Object.keys(floors).join(', ')})`);
      continue;
    }
    for (const target of imports) {
      const to = floorOf(target);
      if (to === floor) continue;
      if (to === undefined || !floors[floor]?.includes(to)) problems.push(`${file} imports ${target} (${floor} → ${to ?? 'outside the floors'})`);
    }
  }
  return problems;
}

/** Every import circle, each as the files on it (Tarjan's strongly connected components). */
export function importCircles(graph: Graph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const circles: string[][] = [];
  let next = 0;
  const visit = (file: string): void => {
    index.set(file, next);
    low.set(file, next);
    next += 1;
    stack.push(file);
    onStack.add(file);
    for (const target of graph.get(file) ?? []) {
      if (!graph.has(target)) continue;
      if (!index.has(target)) {
        visit(target);
        low.set(file, Math.min(low.get(file) ?? 0, low.get(target) ?? 0));
      } else if (onStack.has(target)) {
        low.set(file, Math.min(low.get(file) ?? 0, index.get(target) ?? 0));
      }
    }
    if (low.get(file) !== index.get(file)) return;
    const component: string[] = [];
    let member: string | undefined;
    do {
      member = stack.pop();
      if (member === undefined) break;
      onStack.delete(member);
      component.push(member);
    } while (member !== file);
    if (component.length > 1 || (graph.get(file) ?? []).includes(file)) circles.push(component.sort());
  };
  for (const file of graph.keys()) if (!index.has(file)) visit(file);
  return circles;
}

describe('the floors of src/', () => {
  const { files, packages } = importGraph();

  it('finds the source files and their imports', () => {
    assert.ok(files.size > 50, `only ${files.size} files found`);
    assert.ok(
      [...files.values()].some((imports) => imports.length > 0),
      'no relative import found: the import pattern is broken',
    );
    for (const [file, imports] of files) {
      for (const target of imports) assert.ok(files.has(target), `${file} imports ${target}, which does not exist`);
    }
  });

  it('has no import from a lower floor to a higher one, and no file outside the floors', () => {
    assert.deepEqual(floorViolations(files), []);
  });

  it('has no import circle', () => {
    assert.deepEqual(importCircles(files), []);
  });

  it('keeps the HTTP framework, the database drivers and the CLI library on their floors', () => {
    const problems: string[] = [];
    for (const [file, used] of packages) {
      for (const name of used) {
        const allowed = PACKAGE_FLOORS[name];
        if (allowed && !allowed.includes(floorOf(file) ?? '')) problems.push(`${file} imports ${name}`);
      }
    }
    assert.deepEqual(problems, []);
  });

  it('reports an upward import, a sideways one and a file on no floor', () => {
    const graph = new Map([
      ['src/domain/model.ts', ['src/oauth/core.ts']],
      ['src/surfaces/profile.ts', ['src/http/app.ts']],
      ['src/oauth/core.ts', ['src/domain/model.ts']],
      ['src/http/app.ts', []],
      ['src/loose.ts', []],
    ]);
    assert.deepEqual(floorViolations(graph), [
      'src/domain/model.ts imports src/oauth/core.ts (domain → oauth)',
      'src/surfaces/profile.ts imports src/http/app.ts (surfaces → http)',
      `src/loose.ts is on no floor (${Object.keys(FLOORS).join(', ')})`,
    ]);
  });

  it('reports every circle, however long, and a file that imports itself', () => {
    const graph = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a', 'd']],
      ['d', []],
      ['e', ['e']],
    ]);
    assert.deepEqual(importCircles(graph), [['a', 'b', 'c'], ['e']]);
  });
});
