import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { Cleanup } from './cleanup.ts';

/**
 * A git revision checked out in a temporary `git worktree`, ready to serve: its own `src/` and
 * `bin/`, this tree's `bench/` (so the same load and the same fixtures drive both sides), the
 * bundle built, and node_modules linked from this tree when the lockfiles are equal.
 */
export interface CheckedOut {
  root: string;
  /** The short commit id REF resolved to. */
  commit: string;
}

const git = (cwd: string, args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

/** Native modules (better-sqlite3) build against the installed Node headers. */
const BUILD_ENV = { ...process.env, npm_config_nodedir: '/usr' };

/** Checks REF out into a temporary worktree; `cleanup` removes it (also on failure or SIGINT). */
export function checkOutRevision(root: string, ref: string, cleanup: Cleanup): CheckedOut {
  const commit = git(root, ['rev-parse', '--short', `${ref}^{commit}`]);
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-ab-'));
  cleanup.add(`removing the worktree ${dir}`, () => removeWorktree(root, dir));
  git(root, ['worktree', 'add', '--detach', dir, commit]);
  installDependencies(root, dir, commit);
  // This tree's bench drives both sides (results and databases excepted).
  rmSync(join(dir, 'bench'), { recursive: true, force: true });
  cpSync(join(root, 'bench'), join(dir, 'bench'), { recursive: true, filter: (path) => !relative(join(root, 'bench'), path).startsWith('results') });
  buildBundle(dir);
  return { root: dir, commit };
}

/** Links this tree's node_modules when REF's lockfile is ours, else installs REF's in its worktree. */
function installDependencies(root: string, dir: string, commit: string): void {
  const ours = readFileSync(join(root, 'package-lock.json'), 'utf8');
  const theirs = existsSync(join(dir, 'package-lock.json')) ? readFileSync(join(dir, 'package-lock.json'), 'utf8') : '';
  if (ours === theirs) {
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
    return;
  }
  process.stdout.write(`ab: package-lock.json of ${commit} differs from the working tree's; running npm install in ${dir}\n`);
  execFileSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: dir, env: BUILD_ENV, stdio: 'inherit' });
}

/** Builds dist/gatehouse.js, which bin/gatehouse runs. */
export function buildBundle(dir: string): void {
  execFileSync('npm', ['run', '--silent', 'build:cli'], { cwd: dir, env: BUILD_ENV, stdio: 'inherit' });
}

function removeWorktree(root: string, dir: string): void {
  const modules = join(dir, 'node_modules');
  // Unlink the link first, so that nothing removes the files it points to.
  if (isSymbolicLink(modules)) unlinkSync(modules);
  try {
    git(root, ['worktree', 'remove', '--force', dir]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    git(root, ['worktree', 'prune']);
  }
}

function isSymbolicLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}
