import type { FastifyInstance, FastifyReply } from 'fastify';
import type { EnvironmentTexts } from '../i18n/catalogue.ts';
import { PAGE_LANGUAGES } from '../i18n/locales.ts';
import { renderConsentPage, renderLoginPage } from '../pages/authorization-pages.ts';
import { pageBrandOf } from '../pages/brand-style.ts';
import { escapeHtml, pageSecurityHeaders } from '../pages/layout.ts';
import { pageContextFor } from '../pages/page-context.ts';
import { sendPage } from './auth.ts';
import { renderConsolePage } from './layout.ts';
import { envPath } from './pages.ts';
import { type PageWrap, type Req, services } from './request-services.ts';

/*
 * The console's view of an environment's sign-in pages: its brand and texts, and a preview of the
 * login and consent pages in each language they speak, rendered by the same code as the real pages
 * under the same Content-Security-Policy. The logo is inlined (data: URL) because the console is
 * on another listener than the pages. Changes are made with the CLI, the admin API or `apply`.
 */

const PREVIEW_PAGES = ['login', 'consent'] as const;

function branding(request: Req) {
  const found = services(request).branding;
  if (!found) throw new Error('branding is not wired into the console');
  return found;
}

async function previewHtml(request: Req, env: string, kind: string, lang: string): Promise<{ html: string; stylesheet?: string | undefined }> {
  const settings = await branding(request).settingsOf(env);
  const logo = settings?.logo ? await branding(request).logoOf(env) : undefined;
  const logoUrl = logo ? `data:${logo.contentType};base64,${Buffer.from(logo.bytes).toString('base64')}` : '';
  const brand = pageBrandOf(settings, logoUrl);
  const withLogo = logo ? { ...brand, logoUrl } : brand;
  const page = pageContextFor(lang, (settings?.texts ?? {}) as EnvironmentTexts, withLogo);
  const common = { page, environmentName: env, clientName: 'Example App', action: '#', csrfToken: 'preview', requestId: 'preview' };
  const html =
    kind === 'consent'
      ? renderConsentPage({ ...common, scopes: ['openid', 'profile', 'invoices:read'], username: 'alice', redirectOrigin: 'https://app.example.com' })
      : renderLoginPage(common);
  return { html, stylesheet: withLogo.stylesheet };
}

/** `/console/envs/:env/branding` and its previews (`…/branding/preview?page=login&lang=de`). */
export function brandingPreviewRoutes(app: FastifyInstance, page: PageWrap): void {
  app.get(
    '/envs/:env/branding',
    page(async (request, reply, ctx) => {
      const env = request.params.env ?? '';
      const view = await branding(request).show(env);
      const languages = [...new Set([...PAGE_LANGUAGES, ...Object.keys(view.texts)])];
      const row = (name: string, value: string | null) => `<tr><th scope="row">${escapeHtml(name)}</th><td>${escapeHtml(value ?? '—')}</td></tr>`;
      const links = PREVIEW_PAGES.map(
        (kind) =>
          `<li>${escapeHtml(kind)}: ${languages
            .map((lang) => `<a href="${envPath(env)}/branding/preview?page=${kind}&amp;lang=${encodeURIComponent(lang)}">${escapeHtml(lang)}</a>`)
            .join(' · ')}</li>`,
      );
      const body = [
        `<h1>Sign-in pages of ${escapeHtml(env)}</h1>`,
        '<table>',
        row('Product name', view.product_name),
        ...Object.entries(view.colours).map(([name, value]) => row(name.replace(/_/g, ' '), value)),
        row('Support link', view.support_url),
        row('Default language', view.default_language),
        row(
          'Own texts',
          Object.entries(view.texts)
            .map(([l, t]) => `${l} (${Object.keys(t).length})`)
            .join(', ') || null,
        ),
        row('Logo', view.logo ? view.logo.content_type : null),
        '</table>',
        '<h2>Preview</h2>',
        `<ul>${links.join('')}</ul>`,
        '<p>Change these with <code>gatehouse branding set</code>, the admin API or <code>gatehouse apply</code>.</p>',
      ].join('\n');
      return sendPage(reply, 200, renderConsolePage({ title: `Branding · ${env}`, body, viewer: ctx.viewer, section: 'environments', audit: ctx.audit }));
    }),
  );
  app.get(
    '/envs/:env/branding/preview',
    page(async (request, reply: FastifyReply) => {
      const query = request.query as Record<string, string | undefined>;
      const kind = query.page === 'consent' ? 'consent' : 'login';
      const lang = /^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{1,8})*$/.test(query.lang ?? '') ? (query.lang as string) : 'en';
      const { html, stylesheet } = await previewHtml(request, request.params.env ?? '', kind, lang);
      return reply.status(200).headers(pageSecurityHeaders(stylesheet)).send(html);
    }),
  );
}
