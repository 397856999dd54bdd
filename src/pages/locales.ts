/** The languages the pages are written in (BCP 47 primary subtags). */
export const PAGE_LANGUAGES: readonly string[] = ['en'];

/**
 * The `lang` of a page for OpenID Connect `ui_locales` (Core §3.1.2.1, in order of preference):
 * the first tag whose language the pages are written in, as given (`en-GB` stays `en-GB`), else
 * English. Nothing is translated: a page only says truthfully which language it is in.
 */
export function pageLanguage(uiLocales: readonly string[] | undefined): string {
  const supported = uiLocales?.find((tag) => PAGE_LANGUAGES.includes(tag.split('-')[0]?.toLowerCase() ?? ''));
  return supported ?? 'en';
}
