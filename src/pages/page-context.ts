import { type EnvironmentTexts, type Messages, messagesFor } from '../i18n/catalogue.ts';

/** How an environment's pages look: its name, logo, colours and help link (all optional). */
export interface PageBrand {
  /** Shown beside the mark, in the footer and in each title; "Gatehouse" when not set. */
  readonly productName: string;
  /** Where the page loads the environment's logo from (same origin), when it has one. */
  readonly logoUrl?: string | undefined;
  /** A link to the provider's help, shown in the footer. */
  readonly supportUrl?: string | undefined;
  /** Extra CSS (colour variables only) sent in its own <style>, allowed by its hash. */
  readonly stylesheet?: string | undefined;
}

/** What every page is rendered with: its texts in the chosen language and its brand. */
export interface PageContext {
  readonly messages: Messages;
  readonly brand: PageBrand;
}

export const DEFAULT_BRAND: PageBrand = Object.freeze({ productName: 'Gatehouse' });

/** A page in `lang` with Gatehouse's own look and the environment's texts (if any). */
export function pageContextFor(lang = 'en', texts: EnvironmentTexts = {}, brand: PageBrand = DEFAULT_BRAND): PageContext {
  return { messages: messagesFor(lang, texts), brand };
}
