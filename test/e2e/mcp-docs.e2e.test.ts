import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { relativeLinks } from '../docs/markdown.ts';
import { ROOT } from '../helpers/dev-server.ts';
import { freePort } from '../helpers/net.ts';
import { launchChromium, WAIT_MS } from '../helpers/openid-e2e.ts';

/*
 * examples/mcp/README.md's walk-through, run as written: every ```sh block and each MCP client run, in order, in one bash script
 * from Gatehouse's folder (the ports moved to free ones through the variables the page defines).
 * Each time the MCP client prints an authorization URL (once with the client the operator
 * created, once after it registered itself), Chromium opens it, signs in and allows, as the page
 * tells the reader to; each run must then end with the tool's answer.
 */

const DOC = join(ROOT, 'examples', 'mcp', 'README.md');

/**
 * The walk-through's commands in order: every ```sh block, and the ```text blocks that are only an
 * MCP client run (`npm run client …`), which wait for a person in a browser and which the
 * documentation's generic shell test therefore cannot run; here Chromium signs in for them.
 */
function walkThroughBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```(sh|text)\n([\s\S]*?)^```$/gm)]
    .filter((m) => m[1] === 'sh' || BROWSER_STEP.test(m[2] as string))
    .map((m) => m[2] as string);
}

const BROWSER_STEP = /^(env -u MCP_CLIENT_ID )?npm run client --workspace examples\/mcp\n$/;

/** The ```text block that follows the block containing `marker`. */
function outputAfter(markdown: string, marker: string): string {
  const at = markdown.indexOf(marker);
  const match = /```text\n([\s\S]*?)```/.exec(markdown.slice(at));
  return (match?.[1] ?? '').trim();
}

/** Signs in as alice and allows, on whatever pages Gatehouse shows, until the client's callback. */
async function signInAndAllow(browser: Browser, url: string, callbackPrefix: string): Promise<string[]> {
  const context = await browser.newContext();
  context.setDefaultTimeout(WAIT_MS);
  const page = await context.newPage();
  const pages: string[] = [];
  try {
    await page.goto(url);
    for (let step = 0; step < 4 && !page.url().startsWith(callbackPrefix); step++) {
      if (/\/login(\?|$)/.test(page.url())) {
        pages.push('login');
        await page.getByLabel('Username').fill('alice');
        await page.getByLabel('Password').fill('correct horse battery staple');
        await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      } else if (/\/consent\?/.test(page.url())) {
        pages.push('consent');
        await page.getByRole('button', { name: 'Allow' }).click();
      } else {
        assert.fail(`unexpected page ${page.url()}`);
      }
      await page.waitForURL((current) => current.href.startsWith(callbackPrefix) || /\/(login|consent)\?/.test(current.href));
    }
    assert.match((await page.locator('body').textContent()) ?? '', /Signed in: you can close this window/);
    return pages;
  } finally {
    await context.close();
  }
}

describe('examples/mcp/README.md: from npm start to an MCP client calling a tool, run as written', () => {
  const work = mkdtempSync(join(tmpdir(), 'gatehouse-mcp-doc-'));
  let child: ChildProcess | undefined;
  let browser: Browser | undefined;

  after(async () => {
    // The script's own `kill` stops the servers; this stops whatever a failure half-way left in its process group (and only there).
    if (child?.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // The group is already empty.
      }
    }
    await browser?.close().catch(() => undefined);
    for (const log of ['gatehouse.log', 'mcp.log']) rmSync(join(ROOT, log), { force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it('links only to files that exist', () => {
    const broken = relativeLinks(readFileSync(DOC, 'utf8'))
      .map(({ target }) => target.split('#')[0] ?? '')
      .filter((path) => path !== '' && !existsSync(join(dirname(DOC), path)));
    assert.deepEqual(broken, []);
  });

  it('runs every sh block and ends with the tool result', { timeout: 240_000 }, async () => {
    for (const built of ['dist/gatehouse.js', 'packages/resource-server/dist/index.js']) {
      assert.ok(existsSync(join(ROOT, built)), `${built} is missing: run \`npm run build\` first`);
    }
    const markdown = readFileSync(DOC, 'utf8');
    const blocks = walkThroughBlocks(markdown);
    assert.ok(blocks.length >= 5, 'the page has its sh blocks');
    const script = join(work, 'walk-through.sh');
    writeFileSync(script, `set -euo pipefail\n${blocks.join('\n')}`);
    const [gatehousePort, mcpPort, callbackPort, adminPort, metricsPort] = await Promise.all([1, 2, 3, 4, 5].map(() => freePort()));
    browser = await launchChromium();

    const env = {
      ...process.env,
      GATEHOUSE_PORT: String(gatehousePort),
      MCP_PORT: String(mcpPort),
      MCP_CALLBACK_PORT: String(callbackPort),
      GATEHOUSE_ADMIN_PORT: String(adminPort),
      GATEHOUSE_METRICS_PORT: String(metricsPort),
      GATEHOUSE_DATA_DIR: join(work, 'data'),
      GATEHOUSE_LOG_LEVEL: 'warn',
    };
    const started = spawn('bash', [script], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    child = started;
    let stdout = '';
    let stderr = '';
    const signedIn: Promise<string[]>[] = [];
    const authorizationUrls: URL[] = [];
    started.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    started.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const urls = [...stdout.matchAll(/Open this URL in a browser and sign in:\n\s+(\S+)\n/g)].map((m) => m[1] as string);
      for (const url of urls.slice(signedIn.length)) {
        if (!browser) break;
        authorizationUrls.push(new URL(url));
        const done = signInAndAllow(browser, url, `http://127.0.0.1:${callbackPort}/callback`);
        done.catch(() => {});
        signedIn.push(done);
      }
    });
    const code = await new Promise<number | null>((resolve) => started.on('exit', resolve));
    assert.equal(code, 0, `the walk-through failed:\n${stdout}\n${stderr}`);
    // The page's last block stopped both servers: nothing of the group is left.
    assert.throws(() => process.kill(-(started.pid as number), 0), { code: 'ESRCH' }, 'the servers are still running after the last block');
    assert.equal(signedIn.length, 2, `the client printed two authorization URLs (created, then registered client):\n${stdout}`);
    for (const pages of await Promise.all(signedIn)) assert.deepEqual(pages, ['login', 'consent']);
    const [created, registered] = authorizationUrls.map((url) => url.searchParams.get('client_id') ?? '');
    assert.match(registered ?? '', /^gh_/);
    assert.notEqual(registered, created, 'the second run registered a client of its own');

    // The outputs the page shows, with its default ports.
    const ports = (text: string) => text.replaceAll('127.0.0.1:3000', `127.0.0.1:${mcpPort}`).replaceAll('127.0.0.1:8080', `127.0.0.1:${gatehousePort}`);
    assert.ok(stdout.includes(ports(outputAfter(markdown, 'oauth-protected-resource/mcp"\n'))), `the metadata document as shown:\n${stdout}`);
    assert.ok(stdout.includes(ports(outputAfter(markdown, "-w '%{http_code}"))), `the 401 as shown:\n${stdout}`);
    assert.equal([...stdout.matchAll(/^Tools: list_invoices$/gm)].length, 2, stdout);
    const results = [...stdout.matchAll(/^list_invoices: (.+)$/gm)].map((m) => m[1] as string);
    assert.equal(results.length, 2, stdout);
    for (const result of results) {
      const answer = JSON.parse(result) as { caller: string; invoices: { id: string }[] };
      assert.match(answer.caller, /^usr_/);
      assert.deepEqual(
        answer.invoices.map((invoice) => invoice.id),
        ['inv_1002', 'inv_1003'],
      );
    }
  });
});
