import { createHash } from 'node:crypto';
import type { PageContext } from './page-context.ts';

/**
 * The one stylesheet of every Gatehouse page. It is sent inline and allowed by its hash in the
 * Content-Security-Policy, so the pages load nothing from anywhere: no fonts, no images, no CDN.
 * Pages must style themselves through classes only: a `style="…"` attribute would be blocked by
 * the policy, which allows this exact text and nothing else.
 */
export const PAGE_STYLESHEET = `
:root {
  color-scheme: light dark;
  --bg: #f1f3f6;
  --card: #ffffff;
  --text: #14171f;
  --muted: #555d6b;
  --border: #d4d8e0;
  --input-bg: #ffffff;
  --accent: #1f4fd1;
  --accent-hover: #173fa8;
  --accent-text: #ffffff;
  --focus: #1f4fd1;
  --mark: #1f4fd1;
  --secondary-bg: #ffffff;
  --secondary-hover: #eef1f6;
  --alert-bg: #fdecec;
  --alert-border: #f1a9a9;
  --alert-text: #8a1c1c;
  --code-bg: #eef1f6;
  --shadow: 0 1px 2px rgb(16 24 40 / 6%), 0 8px 24px rgb(16 24 40 / 8%);
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0e1117;
    --card: #181c25;
    --text: #e8eaef;
    --muted: #a3aab8;
    --border: #353b48;
    --input-bg: #10131a;
    --accent: #2f63e0;
    --accent-hover: #2553c4;
    --accent-text: #ffffff;
    --focus: #8fb0ff;
    --mark: #8fb0ff;
    --secondary-bg: #181c25;
    --secondary-hover: #222836;
    --alert-bg: #3a1618;
    --alert-border: #7d2a2e;
    --alert-text: #ffc9c9;
    --code-bg: #232937;
    --shadow: 0 1px 2px rgb(0 0 0 / 30%), 0 8px 24px rgb(0 0 0 / 35%);
  }
}
*, *::before, *::after { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body {
  margin: 0;
  min-height: 100vh;
  display: flex;
  flex-direction: column;
  align-items: center;
  padding: 24px 16px;
  background: var(--bg);
  color: var(--text);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  overflow-wrap: anywhere;
}
.card {
  width: 100%;
  max-width: 400px;
  padding: 32px 28px;
  background: var(--card);
  border: 1px solid var(--border);
  border-radius: 12px;
  box-shadow: var(--shadow);
}
.brand { display: flex; align-items: center; gap: 8px; margin: 0 0 20px; color: var(--muted); font-size: 14px; font-weight: 600; letter-spacing: 0.02em; }
.brand svg { width: 22px; height: 22px; flex: none; color: var(--mark); }
h1 { margin: 0 0 8px; font-size: 22px; line-height: 1.3; font-weight: 650; }
p { margin: 0 0 16px; }
.lead { color: var(--muted); }
.lead strong, .note strong { color: var(--text); font-weight: 600; }
.note { margin: 16px 0 20px; color: var(--muted); font-size: 14px; }
.alert {
  margin: 0 0 20px;
  padding: 12px 14px;
  background: var(--alert-bg);
  border: 1px solid var(--alert-border);
  border-radius: 8px;
  color: var(--alert-text);
  font-size: 15px;
}
form { margin: 0; }
.field { margin: 0 0 16px; }
label { display: block; margin: 0 0 6px; font-size: 15px; font-weight: 600; }
input[type="text"], input[type="password"] {
  display: block;
  width: 100%;
  min-height: 48px;
  padding: 10px 12px;
  background: var(--input-bg);
  color: var(--text);
  border: 1px solid var(--border);
  border-radius: 8px;
  font: inherit;
}
input[aria-invalid="true"] { border-color: var(--alert-border); }
.actions { display: flex; flex-direction: column; gap: 12px; margin-top: 24px; }
.button {
  display: block;
  width: 100%;
  min-height: 48px;
  padding: 12px 16px;
  border: 1px solid transparent;
  border-radius: 8px;
  font: inherit;
  font-weight: 600;
  cursor: pointer;
}
.primary { background: var(--accent); color: var(--accent-text); }
.primary:hover { background: var(--accent-hover); }
.secondary { background: var(--secondary-bg); color: var(--text); border-color: var(--border); }
.secondary:hover { background: var(--secondary-hover); }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
input:focus-visible { outline-offset: 0; border-color: var(--focus); }
.scopes { list-style: none; margin: 16px 0 0; padding: 0; border-top: 1px solid var(--border); }
.scopes li { position: relative; padding-block: 10px; padding-inline: 30px 0; border-bottom: 1px solid var(--border); }
.scopes li::before {
  content: "";
  position: absolute;
  inset-inline-start: 4px;
  inset-block-start: 15px;
  width: 6px;
  height: 11px;
  border: solid var(--mark);
  border-width: 0 2px 2px 0;
  transform: rotate(45deg);
}
.scopes code {
  display: inline-block;
  margin-top: 2px;
  padding: 1px 6px;
  background: var(--code-bg);
  border-radius: 4px;
  color: var(--muted);
  font: 13px/1.5 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
}
.scope-text { display: block; }
.card > :last-child { margin-bottom: 0; }
h1 + .alert { margin-top: 16px; }
.footer { margin-top: 20px; color: var(--muted); font-size: 13px; text-align: center; }
.footer a { color: inherit; }
.brand img { display: block; max-height: 32px; max-width: 160px; width: auto; }
[dir="rtl"] .scopes li::before { transform: rotate(45deg) scaleX(-1); }
code, .ltr { direction: ltr; unicode-bidi: isolate; }
@media (min-width: 480px) {
  body { padding: 40px 24px 24px; }
  .card { padding: 32px 36px 36px; }
  .actions { flex-direction: row; }
  .actions .button { flex: 1; }
}
@media (max-width: 360px) {
  body { padding: 16px 8px; }
  .card { padding: 24px 18px; }
}
`;

// CSP Level 2 hash source: the digest covers the exact text between <style> and </style>.
const STYLESHEET_HASH = createHash('sha256').update(PAGE_STYLESHEET, 'utf8').digest('base64');

// A small gate mark used as the favicon. Inlined as a data: URL (allowed by `img-src data:`) so the
// browser does not request /favicon.ico, which the policy would block and the server does not serve.
const FAVICON_SVG = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><path fill="#1f4fd1" d="M3 21V7l9-5 9 5v14h-6v-7a3 3 0 0 0-6 0v7z"/></svg>';
const FAVICON = `data:image/svg+xml;base64,${Buffer.from(FAVICON_SVG, 'utf8').toString('base64')}`;

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for use in HTML element content and in quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char] ?? char);
}

/** The CSP hash source of a stylesheet (CSP Level 2: the digest of the exact text of the <style>). */
export function styleHashSource(stylesheet: string): string {
  return `'sha256-${createHash('sha256').update(stylesheet, 'utf8').digest('base64')}'`;
}

/**
 * A complete HTML5 document around `body` (already-escaped HTML), in the page's language and
 * direction. The title is escaped here and suffixed with the product name. The page carries no
 * scripts and loads nothing from another origin; a brand's colours come in a second <style>
 * whose hash the route adds to the policy (see `pageSecurityHeaders`).
 */
export function renderPage(p: { title: string; body: string; page: PageContext }): string {
  const { messages, brand } = p.page;
  const brandStyle = brand.stylesheet === undefined ? '' : `\n<style>${brand.stylesheet}</style>`;
  return [
    '<!doctype html>',
    `<html lang="${escapeHtml(messages.lang)}" dir="${messages.dir}">`,
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="robots" content="noindex, nofollow">',
    `<title>${escapeHtml(p.title)} · ${escapeHtml(brand.productName)}</title>`,
    `<link rel="icon" href="${FAVICON}">`,
    `<style>${PAGE_STYLESHEET}</style>${brandStyle}`,
    '</head>',
    `<body>${p.body}</body>`,
    '</html>',
    '',
  ].join('\n');
}

// `form-action` is deliberately absent: Chromium applies it to the redirect that follows the
// consent POST, which lands on the client's redirect_uri, and would block the flow.
// `img-src 'self'` lets an environment's logo load from this server; nothing else is same-origin
// and an image, so no third party is ever contacted.
const pagePolicy = (brandStylesheet?: string): string => {
  const styles = [`'sha256-${STYLESHEET_HASH}'`, ...(brandStylesheet === undefined ? [] : [styleHashSource(brandStylesheet)])];
  return `default-src 'none'; style-src ${styles.join(' ')}; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'`;
};

const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Type': 'text/html; charset=utf-8',
  'X-Frame-Options': 'DENY',
  'Content-Security-Policy': pagePolicy(),
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-store',
  Pragma: 'no-cache',
});

/**
 * Headers every HTML page response must carry: framing and referrer protection, a policy that
 * allows only the inline stylesheet (and the brand's, by its hash, when given), and no caching
 * (pages hold CSRF tokens and usernames). Returns a fresh object each call so callers may add to it.
 */
export function pageSecurityHeaders(brandStylesheet?: string): Record<string, string> {
  return brandStylesheet === undefined ? { ...SECURITY_HEADERS } : { ...SECURITY_HEADERS, 'Content-Security-Policy': pagePolicy(brandStylesheet) };
}
