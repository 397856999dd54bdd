import type { Branding, EnvironmentPageSettings } from '../domain/page-settings.ts';
import { DEFAULT_BRAND, type PageBrand } from './page-context.ts';

const HEX = /^#[0-9a-f]{6}$/i;

// Only values that passed this exact pattern reach the stylesheet, so no text an operator typed
// can close the rule or the <style> element.
const colour = (value: string | undefined): string | undefined => (value !== undefined && HEX.test(value) ? value.toLowerCase() : undefined);

/**
 * The brand's colours as CSS variables over the page stylesheet's, light and dark. The text is a
 * pure function of the colours, so its CSP hash is stable for a brand.
 */
export function brandStylesheet(branding: Branding): string | undefined {
  const c = branding.colours ?? {};
  const light = [
    ['--accent', colour(c.accent)],
    ['--accent-hover', colour(c.accent)],
    ['--focus', colour(c.accent)],
    ['--mark', colour(c.accent)],
    ['--accent-text', colour(c.accentText)],
  ].filter(([, value]) => value !== undefined);
  const dark = [
    ['--accent', colour(c.darkAccent)],
    ['--accent-hover', colour(c.darkAccent)],
    ['--focus', colour(c.darkAccent)],
    ['--mark', colour(c.darkAccent)],
    ['--accent-text', colour(c.darkAccentText)],
  ].filter(([, value]) => value !== undefined);
  if (light.length === 0 && dark.length === 0) return undefined;
  const rules = (pairs: (string | undefined)[][]) => pairs.map(([name, value]) => `${name}: ${value};`).join(' ');
  const parts = [];
  if (light.length > 0) parts.push(`:root { ${rules(light)} }`);
  if (dark.length > 0) parts.push(`@media (prefers-color-scheme: dark) { :root { ${rules(dark)} } }`);
  return parts.join('\n');
}

/** The page brand of an environment's settings; `logoUrl` is where its logo is served. */
export function pageBrandOf(settings: EnvironmentPageSettings | undefined, logoUrl: string): PageBrand {
  if (!settings) return DEFAULT_BRAND;
  const { branding } = settings;
  const stylesheet = brandStylesheet(branding);
  return {
    productName: branding.productName ?? DEFAULT_BRAND.productName,
    ...(settings.logo ? { logoUrl: `${logoUrl}?v=${settings.logo.sha256.slice(0, 16)}` } : {}),
    ...(branding.supportUrl === undefined ? {} : { supportUrl: branding.supportUrl }),
    ...(stylesheet === undefined ? {} : { stylesheet }),
  };
}
