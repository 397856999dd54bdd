import { de } from './de.ts';
import { type Catalogue, en, type MessageKey } from './en.ts';
import { es } from './es.ts';
import { fr } from './fr.ts';
import { ja } from './ja.ts';
import { pt } from './pt.ts';

export type { Catalogue, MessageKey } from './en.ts';

/** The catalogues shipped with Gatehouse, by BCP 47 primary language subtag. */
export const CATALOGUES: Readonly<Record<string, Catalogue>> = Object.freeze({ en, de, fr, es, pt, ja });

/** An operator's texts for one language: any subset of the keys. */
export type TextOverrides = Readonly<Partial<Record<MessageKey, string>>>;

/** An environment's texts, by language (primary subtag, lower case). */
export type EnvironmentTexts = Readonly<Record<string, TextOverrides>>;

/** Values for a message's `{placeholders}`. */
export type MessageParams = Readonly<Record<string, string | number>>;

// Scripts written right to left (language subtags); a page in one of them gets dir="rtl".
const RIGHT_TO_LEFT = new Set(['ar', 'arc', 'ckb', 'dv', 'fa', 'he', 'ks', 'ku', 'ps', 'sd', 'ug', 'ur', 'yi']);

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char] ?? char);

const PLACEHOLDER = /\{([a-zA-Z]+)\}/g;

/** The `{placeholder}` names a text uses, sorted and without repeats. */
export function placeholdersOf(text: string): string[] {
  return [...new Set([...text.matchAll(PLACEHOLDER)].map((match) => match[1] as string))].sort();
}

/** Whether `key` is a message of the pages (for validating operator input). */
export function isMessageKey(key: string): key is MessageKey {
  return Object.hasOwn(en, key);
}

/** The texts of one page in one language, with the environment's overrides applied. */
export interface Messages {
  /** The page's `lang` attribute (BCP 47). */
  readonly lang: string;
  readonly dir: 'ltr' | 'rtl';
  /** Plain text, placeholders filled with `params` as given: the caller escapes. */
  text(key: MessageKey, params?: MessageParams): string;
  /** HTML: the text is escaped, placeholders are filled with `params` as already-safe HTML. */
  html(key: MessageKey, params?: MessageParams): string;
}

function fill(template: string, params: MessageParams | undefined, escapeText: (text: string) => string): string {
  let out = '';
  let last = 0;
  for (const match of template.matchAll(PLACEHOLDER)) {
    out += escapeText(template.slice(last, match.index));
    const value = params !== undefined && Object.hasOwn(params, match[1] as string) ? String(params[match[1] as string]) : match[0];
    out += value;
    last = (match.index ?? 0) + match[0].length;
  }
  return out + escapeText(template.slice(last));
}

/**
 * The messages for `lang` (a tag such as `de-CH`): the environment's override for the language,
 * else the shipped catalogue of its primary subtag, else English, key by key — so a language an
 * operator only partly wrote (say Arabic) still shows every text.
 */
export function messagesFor(lang: string, texts: EnvironmentTexts = {}): Messages {
  const primary = lang.split('-')[0]?.toLowerCase() ?? 'en';
  const overrides: TextOverrides = Object.hasOwn(texts, primary) ? (texts[primary] as TextOverrides) : {};
  const shipped = Object.hasOwn(CATALOGUES, primary) ? (CATALOGUES[primary] as Catalogue) : en;
  const template = (key: MessageKey): string => overrides[key] ?? shipped[key] ?? en[key];
  return {
    lang,
    dir: RIGHT_TO_LEFT.has(primary) ? 'rtl' : 'ltr',
    text: (key, params) => fill(template(key), params, (text) => text),
    html: (key, params) => fill(template(key), params, escapeHtml),
  };
}
