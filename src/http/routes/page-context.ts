import type { FastifyRequest } from 'fastify';
import type { Environment } from '../../domain/model.ts';
import type { PageSettingsStore } from '../../domain/page-settings.ts';
import type { EnvironmentTexts } from '../../i18n/catalogue.ts';
import { chooseLanguage } from '../../i18n/locales.ts';
import { pageBrandOf } from '../../pages/brand-style.ts';
import { type PageContext, pageContextFor } from '../../pages/page-context.ts';

// The context each page request was rendered with, so an error page and the CSP header of the
// same request use the same language and brand. Keyed by the request object: it goes with it.
const contexts = new WeakMap<FastifyRequest, PageContext>();

/**
 * The language and brand of a page: the environment's settings (read per request, so a change
 * shows at once on every node), then `ui_locales`, Accept-Language and the environment's default.
 */
export class PageContexts {
  constructor(private readonly settings?: Pick<PageSettingsStore, 'get'>) {}

  async of(request: FastifyRequest, env: Environment, issuer: string, uiLocales?: readonly string[]): Promise<PageContext> {
    const settings = await this.settings?.get(env.id);
    const lang = chooseLanguage({
      uiLocales,
      acceptLanguage: request.headers['accept-language'],
      defaultLanguage: settings?.defaultLanguage,
      extraLanguages: Object.keys(settings?.texts ?? {}),
    });
    const page = pageContextFor(lang, (settings?.texts ?? {}) as EnvironmentTexts, pageBrandOf(settings, `${issuer}/branding/logo`));
    contexts.set(request, page);
    return page;
  }
}

/** The context this request's page was rendered with; before the environment is known, Gatehouse's own look in the browser's language. */
export function pageContextOfRequest(request: FastifyRequest): PageContext {
  const known = contexts.get(request);
  if (known) return known;
  return pageContextFor(chooseLanguage({ acceptLanguage: request.headers['accept-language'] }));
}

/** The brand stylesheet the page of this request carries, for its CSP hash. */
export function brandStylesheetOfRequest(request: FastifyRequest): string | undefined {
  return contexts.get(request)?.brand.stylesheet;
}
