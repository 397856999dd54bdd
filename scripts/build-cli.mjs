// Builds the CLI: dist/gatehouse.js, the entry bin/gatehouse runs, and dist/chunks/, the code each
// command loads when it runs (esbuild's code splitting), with source maps.
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/**
 * Dependencies bundled into dist/ instead of loaded from node_modules: pure JavaScript published
 * as many small ES modules, which Node loads one file at a time (kysely: 263 files, about 0.1 s
 * of every command's start; jose: 47). They stay in `dependencies` with their licences. Every
 * other package stays external: native addons, packages holding process-wide state
 * (@opentelemetry/api), packages that load their own files at run time (pino's transports).
 */
const BUNDLED = new Set(['kysely', 'jose']);

const packageName = (specifier) =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');

const root = fileURLToPath(new URL('..', import.meta.url));
rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: { gatehouse: 'src/cli/main.ts' },
  outdir: 'dist',
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  plugins: [
    {
      name: 'external-packages',
      setup(esbuild) {
        esbuild.onResolve({ filter: /^[^./]/ }, ({ path }) =>
          path.startsWith('node:') || !BUNDLED.has(packageName(path)) ? { path, external: true } : undefined,
        );
      },
    },
  ],
});
