import { contrastRatio } from '../domain/contrast.ts';
import type { BrandColours, LogoContentType } from '../domain/page-settings.ts';
import { isMessageKey, placeholdersOf } from '../i18n/catalogue.ts';
import { en } from '../i18n/en.ts';
import { PAGE_LANGUAGES } from '../i18n/locales.ts';
import { AdminError } from './admin-error.ts';

/** The largest logo accepted, in bytes. */
export const MAX_LOGO_BYTES = 100 * 1024;
export const MAX_PRODUCT_NAME = 60;
export const MAX_TEXT_LENGTH = 500;

const HEX = /^#[0-9a-f]{6}$/;
const LANGUAGE = /^[a-z]{2,3}$/;
const CONTROL = /\p{Cc}/u;

// The page stylesheet's own colours, which a brand's colours are checked against.
const LIGHT_CARD = '#ffffff';
const DARK_CARD = '#181c25';
const DEFAULTS: Required<BrandColours> = { accent: '#1f4fd1', accentText: '#ffffff', darkAccent: '#2f63e0', darkAccentText: '#ffffff' };

/** Wire names of the colours, for errors and audit events. */
export const COLOUR_FIELDS: Record<keyof BrandColours, string> = {
  accent: 'accent',
  accentText: 'accent_text',
  darkAccent: 'dark_accent',
  darkAccentText: 'dark_accent_text',
};

const invalid = (message: string) => new AdminError('invalid_argument', message);

/** Colours as `#rrggbb` in lower case; anything else is refused, naming the field. */
export function checkColourSyntax(colours: BrandColours): BrandColours {
  const out: BrandColours = {};
  for (const [field, value] of Object.entries(colours) as [keyof BrandColours, string | undefined][]) {
    if (value === undefined) continue;
    const lower = value.toLowerCase();
    if (!HEX.test(lower)) throw invalid(`colours.${COLOUR_FIELDS[field]} must be a colour as #rrggbb, not ${JSON.stringify(value.slice(0, 20))}`);
    out[field] = lower;
  }
  return out;
}

/**
 * WCAG 2.2 AA: text on the main button needs 4.5:1 (SC 1.4.3), the accent against the card it
 * marks (focus ring, check marks) 3:1 (SC 1.4.11), in light and in dark mode. The error names
 * each failing pair and its ratio.
 */
export function checkContrast(colours: BrandColours): void {
  const c = { ...DEFAULTS, ...colours };
  const pairs: [string, string, string, string, number][] = [
    ['accent_text', c.accentText, 'accent', c.accent, 4.5],
    ['accent', c.accent, 'the light page card', LIGHT_CARD, 3],
    ['dark_accent_text', c.darkAccentText, 'dark_accent', c.darkAccent, 4.5],
  ];
  if (colours.darkAccent !== undefined) pairs.push(['dark_accent', c.darkAccent, 'the dark page card', DARK_CARD, 3]);
  const failing = pairs
    .map(([name, fg, against, bg, needed]) => ({ name, fg, against, bg, needed, ratio: contrastRatio(fg, bg) }))
    .filter((pair) => pair.ratio < pair.needed);
  if (failing.length === 0) return;
  const described = failing.map(
    (f) => `${f.name} ${f.fg} on ${f.against} ${f.bg} has contrast ${(Math.floor(f.ratio * 100) / 100).toFixed(2)}:1, WCAG AA needs ${f.needed}:1`,
  );
  throw invalid(`colours fail WCAG 2.2 AA contrast: ${described.join('; ')}`);
}

export function checkProductName(name: string): string {
  const trimmed = name.trim();
  if (trimmed === '' || trimmed.length > MAX_PRODUCT_NAME || CONTROL.test(trimmed)) {
    throw invalid(`product_name must be 1 to ${MAX_PRODUCT_NAME} characters without control characters`);
  }
  return trimmed;
}

/** The help link must be https: the pages link nowhere else, and never to a script URL. */
export function checkSupportUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid('support_url must be an absolute https URL');
  }
  if (url.protocol !== 'https:' || value.length > 500 || url.username !== '' || url.password !== '') {
    throw invalid('support_url must be an absolute https URL (at most 500 characters, no credentials)');
  }
  return url.href;
}

/**
 * The operator's texts: languages as lower-case primary subtags, keys of the catalogue, plain
 * text without control characters, and only the placeholders the English text has.
 */
export function checkTexts(texts: Record<string, Record<string, string>>): Record<string, Record<string, string>> {
  for (const [language, entries] of Object.entries(texts)) {
    if (!LANGUAGE.test(language))
      throw invalid(`texts: ${JSON.stringify(language.slice(0, 20))} is not a language subtag (two or three lower-case letters, e.g. de, ar)`);
    for (const [key, text] of Object.entries(entries)) {
      if (!isMessageKey(key)) throw invalid(`texts.${language}: ${JSON.stringify(key.slice(0, 60))} is not a message of the pages`);
      if (typeof text !== 'string' || text.trim() === '' || text.length > MAX_TEXT_LENGTH || CONTROL.test(text)) {
        throw invalid(`texts.${language}.${key} must be 1 to ${MAX_TEXT_LENGTH} characters without control characters`);
      }
      const allowed = placeholdersOf(en[key]);
      const unknown = placeholdersOf(text).filter((name) => !allowed.includes(name));
      if (unknown.length > 0) {
        throw invalid(
          `texts.${language}.${key} uses {${unknown.join('}, {')}}; this text may use only ${allowed.length === 0 ? 'no placeholders' : `{${allowed.join('}, {')}}`}`,
        );
      }
    }
  }
  return texts;
}

/** The default language must be one the pages speak: shipped, or given texts here. */
export function checkDefaultLanguage(language: string, texts: Record<string, unknown>): string {
  const primary = language.split('-')[0]?.toLowerCase() ?? '';
  if (!/^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{1,8})*$/.test(language) || !(PAGE_LANGUAGES.includes(primary) || Object.hasOwn(texts, primary))) {
    throw invalid(`default_language must be one of ${PAGE_LANGUAGES.join(', ')} or a language given texts`);
  }
  return language;
}

const startsWith = (bytes: Uint8Array, prefix: readonly number[], at = 0) => prefix.every((b, i) => bytes[at + i] === b);

/**
 * The image type the logo's bytes are, checked from their content (never trusted from a header).
 * SVG is accepted only without script: no <script>, no event handler attributes, no javascript:
 * URLs, no <foreignObject> and no external references. The logo is also served sandboxed.
 */
export function checkLogo(bytes: Uint8Array, declared: string): LogoContentType {
  if (bytes.length === 0 || bytes.length > MAX_LOGO_BYTES)
    throw invalid(`the logo must be 1 byte to ${MAX_LOGO_BYTES / 1024} KB (it is ${Math.ceil(bytes.length / 1024)} KB)`);
  const sniffed: LogoContentType | undefined = startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
    ? 'image/png'
    : startsWith(bytes, [0x52, 0x49, 0x46, 0x46]) && startsWith(bytes, [0x57, 0x45, 0x42, 0x50], 8)
      ? 'image/webp'
      : looksLikeSvg(bytes)
        ? 'image/svg+xml'
        : undefined;
  if (sniffed === undefined) throw invalid('the logo must be a PNG, WebP or SVG image');
  if (sniffed !== declared) throw invalid(`the logo is ${sniffed}, but was sent as ${declared}`);
  if (sniffed === 'image/svg+xml') checkSvgHasNoScript(new TextDecoder().decode(bytes));
  return sniffed;
}

function looksLikeSvg(bytes: Uint8Array): boolean {
  const head = new TextDecoder('utf-8', { fatal: false })
    .decode(bytes.subarray(0, 1024))
    .replace(/^\uFEFF/, '')
    .trimStart();
  return /^(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*(<!DOCTYPE svg[^>]*>\s*)?<svg[\s>]/i.test(head);
}

function checkSvgHasNoScript(text: string): void {
  const refused: [RegExp, string][] = [
    [/<script/i, 'a <script> element'],
    [/\son[a-z]+\s*=/i, 'an event handler attribute'],
    [/javascript:/i, 'a javascript: URL'],
    [/<foreignObject/i, 'a <foreignObject> element'],
    [/(?:href|src)\s*=\s*["']\s*(?:https?:|\/\/|data:text)/i, 'a reference to another resource'],
    [/<!ENTITY/i, 'an entity declaration'],
  ];
  for (const [pattern, what] of refused) if (pattern.test(text)) throw invalid(`the SVG logo contains ${what}; only a plain drawing is accepted`);
}
