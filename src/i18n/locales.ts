import { CATALOGUES } from './catalogue.ts';

/** The languages the pages ship in (BCP 47 primary subtags). */
export const PAGE_LANGUAGES: readonly string[] = Object.keys(CATALOGUES);

/** What a page's language is chosen from, most specific first. */
export interface LanguageChoice {
  /** OpenID Connect `ui_locales` (Core §3.1.2.1), in order of preference. */
  uiLocales?: readonly string[] | undefined;
  /** The browser's `Accept-Language` header (RFC 9110 §12.5.4). */
  acceptLanguage?: string | undefined;
  /** The environment's default language; English when absent. */
  defaultLanguage?: string | undefined;
  /** Languages the environment added through its own texts (e.g. `ar`). */
  extraLanguages?: readonly string[] | undefined;
}

const TAG = /^[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*$/;

/**
 * The tags of an Accept-Language header by preference: highest q first, ties in the order given;
 * `q=0` (not acceptable), `*` and malformed entries are dropped.
 */
export function parseAcceptLanguage(header: string | undefined): string[] {
  if (header === undefined) return [];
  const ranges: { tag: string; q: number; index: number }[] = [];
  header.split(',').forEach((part, index) => {
    const [range, ...params] = part.trim().split(';');
    const tag = range?.trim() ?? '';
    if (!TAG.test(tag)) return;
    const qParam = params.map((p) => p.trim()).find((p) => p.toLowerCase().startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (Number.isFinite(q) && q > 0 && q <= 1) ranges.push({ tag, q, index });
  });
  return ranges.sort((a, b) => b.q - a.q || a.index - b.index).map((r) => r.tag);
}

/**
 * The page's language tag: the first `ui_locales` tag whose language the pages speak, else the
 * first such Accept-Language tag, else the environment's default, else English. A tag is kept as
 * given (`en-GB` stays `en-GB`): the page says truthfully which language it is in, and the
 * catalogue is that of its primary subtag.
 */
export function chooseLanguage(choice: LanguageChoice): string {
  const spoken = new Set([...PAGE_LANGUAGES, ...(choice.extraLanguages ?? [])].map((l) => l.toLowerCase()));
  const speaks = (tag: string) => TAG.test(tag) && spoken.has(tag.split('-')[0]?.toLowerCase() ?? '');
  const candidates = [...(choice.uiLocales ?? []), ...parseAcceptLanguage(choice.acceptLanguage)];
  const found = candidates.find(speaks);
  if (found !== undefined) return found;
  return choice.defaultLanguage !== undefined && speaks(choice.defaultLanguage) ? choice.defaultLanguage : 'en';
}

/** The page's language from `ui_locales` alone (kept for callers without a request). */
export function pageLanguage(uiLocales: readonly string[] | undefined): string {
  return chooseLanguage({ uiLocales });
}
