/**
 * How an environment's sign-in pages look and speak: its brand, its default language and the
 * operator's own texts. Stored per environment; absent settings mean Gatehouse's own look, in
 * English unless the browser asks otherwise.
 */

/** The colours an environment may set, as `#rrggbb`. Each is checked for WCAG 2.2 AA contrast on save. */
export interface BrandColours {
  /** Background of the main button, and the focus ring and marks, in light mode. */
  accent?: string;
  /** Text on the main button in light mode. */
  accentText?: string;
  /** The same in dark mode. */
  darkAccent?: string;
  darkAccentText?: string;
}

export interface Branding {
  /** Replaces "Gatehouse" beside the mark, in titles and in the footer. */
  productName?: string;
  colours?: BrandColours;
  /** An https link to the provider's help, shown in each page's footer. */
  supportUrl?: string;
}

/** The logo's stored form: bytes and the image type they were checked to be. */
export interface BrandLogo {
  contentType: LogoContentType;
  bytes: Uint8Array;
  /** Hex SHA-256 of the bytes: names the version in the logo's URL, so caches never serve an old one. */
  sha256: string;
}

export type LogoContentType = 'image/png' | 'image/webp' | 'image/svg+xml';

export interface EnvironmentPageSettings {
  branding: Branding;
  /** BCP 47 tag of the language used when neither `ui_locales` nor Accept-Language names one the pages speak. */
  defaultLanguage?: string;
  /** The operator's texts: language (primary subtag) → message key → text. */
  texts: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** The logo's type and version, without its bytes (those are read only to serve the logo). */
  logo?: { contentType: LogoContentType; sha256: string };
  updatedAt: number;
}

/** Storage of the page settings, one row per environment. */
export interface PageSettingsStore {
  get(envId: string): Promise<EnvironmentPageSettings | undefined>;
  /** Writes everything but the logo. */
  put(envId: string, settings: Omit<EnvironmentPageSettings, 'logo'>): Promise<void>;
  /** Replaces (or with undefined, removes) the logo. */
  putLogo(envId: string, logo: BrandLogo | undefined, now: number): Promise<void>;
  getLogo(envId: string): Promise<BrandLogo | undefined>;
}
