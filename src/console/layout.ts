import { createHash } from 'node:crypto';
import { escapeHtml, PAGE_STYLESHEET, pageSecurityHeaders } from '../pages/layout.ts';

/**
 * The console's additions to the shared page stylesheet: a wide layout, tables, tabs and badges.
 * Sent as a second inline `<style>` allowed by its own hash, so the login pages' policy and text
 * stay as they are. Colours come from the shared variables, so dark mode follows them.
 */
export const CONSOLE_STYLESHEET = `
:root { --link: #1f4fd1; --ok-bg: #e3f4e8; --ok-text: #17572c; --off-bg: #eceef2; --off-text: #3f4654; --warn-bg: #fff4d6; --warn-text: #6b4a00; --bar: #1f4fd1; }
@media (prefers-color-scheme: dark) {
  :root { --link: #8fb0ff; --ok-bg: #173823; --ok-text: #a8e6bb; --off-bg: #2a303c; --off-text: #d0d5df; --warn-bg: #3d3112; --warn-text: #f5dc9a; --bar: #8fb0ff; }
}
body { align-items: stretch; padding: 0; }
.skip { position: absolute; left: 8px; top: -60px; padding: 8px 12px; background: var(--card); color: var(--text); border: 2px solid var(--focus); border-radius: 8px; z-index: 10; }
.skip:focus { top: 8px; }
.topbar { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 16px; padding: 10px 16px; background: var(--card); border-bottom: 1px solid var(--border); }
.topbar .brand { margin: 0; color: var(--text); text-decoration: none; }
.topbar nav { display: flex; flex-wrap: wrap; gap: 4px 12px; flex: 1; }
a { color: var(--link); }
a.button { text-decoration: none; text-align: center; }
fieldset { margin: 0 0 16px; padding: 12px 16px 0; border: 1px solid var(--border); border-radius: 8px; }
legend { padding: 0 4px; font-size: 15px; font-weight: 600; }
.topbar nav a { padding: 6px 4px; font-weight: 600; text-decoration: none; }
.topbar nav a[aria-current="page"], .tabs a[aria-current="page"] { color: var(--text); text-decoration: underline; text-underline-offset: 4px; }
.who { color: var(--muted); font-size: 14px; }
main { width: 100%; max-width: 1240px; margin: 0 auto; padding: 20px 16px 40px; }
main h1 { margin-bottom: 16px; }
h2 { margin: 28px 0 12px; font-size: 18px; }
.panel { margin: 20px 0; padding: 20px; background: var(--card); border: 1px solid var(--border); border-radius: 12px; }
.panel > :first-child { margin-top: 0; }
.panel > :last-child { margin-bottom: 0; }
.account { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 12px; }
.sr-only { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
.tabs { display: flex; flex-wrap: wrap; gap: 4px 16px; margin: 0 0 16px; padding: 0; list-style: none; border-bottom: 1px solid var(--border); }
.tabs a { display: inline-block; padding: 8px 2px; font-weight: 600; text-decoration: none; }
.search { display: flex; flex-wrap: wrap; align-items: flex-end; gap: 8px; margin: 0 0 16px; }
.search .field { flex: 1 1 220px; margin: 0; }
.button.inline, .inline-form .button { display: inline-block; width: auto; min-height: 44px; padding: 8px 14px; }
.danger { background: var(--alert-bg); color: var(--alert-text); border-color: var(--alert-border); }
.inline-form { display: inline-block; margin: 0 8px 8px 0; }
.account .inline-form, .row-actions .inline-form { margin-bottom: 0; }
.row-actions { margin-top: 16px; }
.table-wrap { width: 100%; overflow-x: auto; border: 1px solid var(--border); border-radius: 8px; background: var(--card); }
table { width: 100%; border-collapse: collapse; font-size: 15px; overflow-wrap: normal; }
th, td { padding: 10px 12px; text-align: left; vertical-align: middle; border-bottom: 1px solid var(--border); white-space: nowrap; }
thead th { color: var(--muted); font-size: 13px; font-weight: 650; text-transform: uppercase; letter-spacing: 0.03em; }
tbody th { font-weight: 600; }
tbody tr:last-child > * { border-bottom: 0; }
td .inline-form { margin: 0; }
code, .mono { font: 14px/1.5 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; overflow-wrap: anywhere; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 13px; font-weight: 600; background: var(--off-bg); color: var(--off-text); }
.badge.on, .badge.active { background: var(--ok-bg); color: var(--ok-text); }
.badge.next { background: var(--warn-bg); color: var(--warn-text); }
dl.fields { display: grid; grid-template-columns: minmax(120px, max-content) 1fr; gap: 8px 16px; margin: 0; }
dl.fields dt { color: var(--muted); font-weight: 600; }
dl.fields dd { margin: 0; }
.notice { margin: 0 0 20px; padding: 12px 14px; border-radius: 8px; background: var(--ok-bg); color: var(--ok-text); border: 1px solid var(--border); }
.secret input[type="text"] { font: 15px/1.5 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.checkbox { display: flex; align-items: center; gap: 8px; font-weight: 600; }
.checkbox input { width: 20px; height: 20px; }
textarea { display: block; width: 100%; padding: 10px 12px; background: var(--input-bg); color: var(--text); border: 1px solid var(--border); border-radius: 8px; font: 14px/1.5 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.quota-form { display: flex; flex-wrap: wrap; align-items: center; gap: 8px; margin: 0; }
.quota-form input[type="text"] { width: 9em; min-height: 40px; }
select { display: block; width: 100%; min-height: 48px; padding: 10px 12px; background: var(--input-bg); color: var(--text); border: 1px solid var(--border); border-radius: 8px; font: inherit; }
.hint { display: block; margin-top: 4px; color: var(--muted); font-size: 14px; font-weight: 400; }
.actor-id { display: block; margin-top: 2px; color: var(--muted); font-size: 13px; white-space: normal; overflow-wrap: anywhere; }
.chart { display: block; width: 100%; max-width: 640px; height: auto; color: var(--bar); }
.chart text { fill: var(--muted); font-size: 11px; }
.empty { color: var(--muted); }
@media (max-width: 600px) {
  .topbar { justify-content: space-between; }
  .topbar nav { order: 3; flex-basis: 100%; }
  main { padding: 16px 12px 32px; }
  .panel { padding: 16px; }
  dl.fields { grid-template-columns: 1fr; gap: 2px; }
  dl.fields dd { margin-bottom: 8px; }
}
`;

const hash = (text: string): string => createHash('sha256').update(text, 'utf8').digest('base64');
const STYLE_SOURCES = `'sha256-${hash(PAGE_STYLESHEET)}' 'sha256-${hash(CONSOLE_STYLESHEET)}'`;

/**
 * The login pages' headers with a policy that also allows the console stylesheet, and forms
 * that post only back to the console (no cross-origin redirect follows a console form).
 */
export function consoleSecurityHeaders(): Record<string, string> {
  return {
    ...pageSecurityHeaders(),
    'Content-Security-Policy': `default-src 'none'; style-src ${STYLE_SOURCES}; img-src data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`,
  };
}

export { escapeHtml };

/** Whom the console is showing pages to, and what they may do. */
export interface Viewer {
  /** The operator's name (or, when unknown, the token's subject). */
  name: string;
  /** Whether this page's forms may change anything. */
  canWrite: boolean;
  /** Whether the operator may read the audit log (every environment's). */
  canAudit: boolean;
  /** What the operator's scopes reach, when not everything (`read only`, `STAGING only`); shown beside the name. */
  access?: string | undefined;
  csrfToken: string;
}

export type Section = 'environments' | 'audit';

const MARK = '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path fill="currentColor" d="M3 21V7l9-5 9 5v14h-6v-7a3 3 0 0 0-6 0v7z"/></svg>';

/** A hidden field with the session's CSRF token; every POST form carries one. */
export const csrfField = (viewer: Viewer): string => `<input type="hidden" name="csrf_token" value="${escapeHtml(viewer.csrfToken)}">`;

/** A complete console page: skip link, top bar with the sections and sign-out, then `body` (already-escaped HTML). */
export function renderConsolePage(p: { title: string; body: string; viewer?: Viewer; section?: Section; audit?: boolean }): string {
  const nav = p.viewer ? topNav(p.viewer, p.section, p.audit ?? false) : `<span class="brand">${MARK}Gatehouse console</span>`;
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="robots" content="noindex, nofollow">',
    `<title>${escapeHtml(p.title)} · Gatehouse console</title>`,
    `<style>${PAGE_STYLESHEET}</style>`,
    `<style>${CONSOLE_STYLESHEET}</style>`,
    '</head>',
    '<body>',
    '<a class="skip" href="#main">Skip to content</a>',
    `<header class="topbar">${nav}</header>`,
    `<main id="main" tabindex="-1">${p.body}</main>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

function topNav(viewer: Viewer, section: Section | undefined, audit: boolean): string {
  const link = (href: string, label: string, name: Section) => `<a href="${href}"${section === name ? ' aria-current="page"' : ''}>${label}</a>`;
  const links = [link('/console/envs', 'Environments', 'environments'), ...(audit && viewer.canAudit ? [link('/console/audit', 'Audit events', 'audit')] : [])];
  return [
    `<a class="brand" href="/console/envs">${MARK}Gatehouse console</a>`,
    `<nav aria-label="Console">${links.join('')}</nav>`,
    `<div class="account"><span class="who">${escapeHtml(viewer.name)}${viewer.access ? ` (${escapeHtml(viewer.access)})` : ''}</span>`,
    `<form class="inline-form" method="post" action="/console/signout">${csrfField(viewer)}<button class="button secondary inline" type="submit">Sign out</button></form></div>`,
  ].join('');
}
