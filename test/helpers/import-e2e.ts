import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import type { Config } from '../../src/config/config.ts';
import { type TestDatabase, testDatabases } from './databases.ts';
import { ROOT } from './dev-server.ts';
import { buildTestApp, type TestApp } from './fixtures.ts';
import { freePort } from './net.ts';
import { createEnvironments } from './surfaces.ts';

const run = promisify(execFile);

/** A running Gatehouse over a fresh store, and what `gatehouse import` needs to write to the same store. */
export interface ImportTarget {
  t: TestApp;
  base: string;
  /** Runs `gatehouse import …` (from the sources, through tsx) against the same store; returns its JSON report. */
  importCli(args: string[]): Promise<ImportReportJson>;
  /** Every cell of every table of Gatehouse's store, as one text, to look for what must not be there. */
  databaseText(): Promise<string>;
  stop(): Promise<void>;
}

export interface KindCounts {
  imported: number;
  updated: number;
  unchanged: number;
  skipped: number;
}

export interface ImportReportJson {
  dry_run: boolean;
  counts: Record<'client' | 'user' | 'refresh_token' | 'access_token' | 'source', KindCounts>;
  skipped: { kind: string; what: string; reason: string }[];
  updated: { kind: string; what: string }[];
}

/** PostgreSQL when it answers (as a production deployment would), else SQLite. */
export async function targetDatabase(): Promise<TestDatabase> {
  const databases = await testDatabases();
  const chosen = databases.find((d) => d.name === 'postgres') ?? databases[0];
  assert.ok(chosen);
  return chosen;
}

/** Starts Gatehouse on a loopback port with `config`, its clock at the real time (the CLI imports by the system clock). */
export async function startTarget(database: TestDatabase, config: Partial<Config>): Promise<ImportTarget> {
  const opened = await database.open();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const t = await buildTestApp(opened.store, { ...config, publicUrl: base, port, host: '127.0.0.1' });
  t.clock.set(Date.now());
  await createEnvironments(t);
  await t.app.start();
  let url = opened.url;
  if (opened.schema) {
    const u = new URL(opened.url);
    u.searchParams.set('options', `-c search_path=${opened.schema}`);
    url = u.href;
  }
  const env = {
    PATH: process.env.PATH,
    GATEHOUSE_DATABASE_URL: url,
    GATEHOUSE_LOG_LEVEL: 'warn',
    GATEHOUSE_PUBLIC_URL: base,
    GATEHOUSE_KEY_SECRET: randomBytes(32).toString('hex'),
  };
  return {
    t,
    base,
    async importCli(args) {
      const { stdout } = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), 'import', ...args, '--json'], {
        env,
        cwd: ROOT,
        timeout: 120_000,
      });
      return JSON.parse(stdout) as ImportReportJson;
    },
    async databaseText() {
      return dumpText(opened.url, opened.schema);
    },
    async stop() {
      await t.app.stop();
      await opened.cleanup();
    },
  };
}

async function dumpText(url: string, schema: string | undefined): Promise<string> {
  const cells: unknown[] = [];
  if (schema === undefined) {
    const db = new SqliteDatabase(url, { readonly: true, fileMustExist: true });
    try {
      const names = db.prepare("select name from sqlite_master where type = 'table'").all() as { name: string }[];
      for (const { name } of names) cells.push(...(db.prepare(`select * from "${name.replaceAll('"', '""')}"`).all() as object[]).flatMap(Object.values));
    } finally {
      db.close();
    }
  } else {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<{ table_name: string }>(
        "select table_name from information_schema.tables where table_schema = $1 and table_type = 'BASE TABLE'",
        [schema],
      );
      for (const { table_name } of rows)
        cells.push(
          ...(await client.query(`select * from ${client.escapeIdentifier(schema)}.${client.escapeIdentifier(table_name)}`)).rows.flatMap(Object.values),
        );
    } finally {
      await client.end();
    }
  }
  return cells
    .map((v) => (Buffer.isBuffer(v) ? `${v.toString('utf8')} ${v.toString('hex')}` : typeof v === 'object' ? JSON.stringify(v) : String(v)))
    .join('\n');
}

/** Runs curl with `args` (split from a documented command line) and returns the status and parsed body. */
export async function curl(args: string[]): Promise<{ status: number; body: Record<string, unknown> }> {
  // --silent and --write-out only change what curl prints, not the request it sends.
  const { stdout } = await run('curl', ['--silent', '--write-out', '\n%{http_code}', ...args], { timeout: 30_000 });
  const cut = stdout.lastIndexOf('\n');
  const text = stdout.slice(0, cut);
  return { status: Number(stdout.slice(cut + 1)), body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/**
 * Splits a documented shell command line into arguments (single and double quotes, backslash-newline
 * continuations), after putting `values` in place of its placeholders. Leaves out the leading `curl`.
 */
export function commandLine(line: string, values: Record<string, string>): string[] {
  let text = line.replace(/\\\s*\n?/g, ' ');
  for (const [placeholder, value] of Object.entries(values)) text = text.replaceAll(placeholder, value);
  const args = [...text.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3] ?? '');
  assert.equal(args[0], 'curl');
  return args.slice(1);
}

/** Requests per second of `count` calls of `request`, `parallel` at a time. */
export async function rate(count: number, parallel: number, request: () => Promise<void>): Promise<number> {
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        next++;
        await request();
      }
    }),
  );
  return count / ((performance.now() - started) / 1000);
}
