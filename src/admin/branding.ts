import { createHash } from 'node:crypto';
import type { Clock } from '../domain/clock.ts';
import type { Environment } from '../domain/model.ts';
import type { BrandColours, Branding, BrandLogo, EnvironmentPageSettings } from '../domain/page-settings.ts';
import type { Store, TransactionStore } from '../domain/storage.ts';
import { AdminError } from './admin-error.ts';
import { AdminAudit } from './audit-trail.ts';
import {
  COLOUR_FIELDS,
  checkColourSyntax,
  checkContrast,
  checkDefaultLanguage,
  checkLogo,
  checkProductName,
  checkSupportUrl,
  checkTexts,
} from './branding-checks.ts';
import { holdUnchanged } from './settings-guard.ts';

/** An environment's brand and languages as the admin surfaces show and take them (wire names). */
export interface BrandingView {
  environment: string;
  product_name: string | null;
  colours: { accent: string | null; accent_text: string | null; dark_accent: string | null; dark_accent_text: string | null };
  support_url: string | null;
  default_language: string | null;
  /** Language → message key → text. */
  texts: Record<string, Record<string, string>>;
  logo: { content_type: string; sha256: string } | null;
  updated_at: string | null;
}

/** A whole new brand (PUT semantics: what is absent is cleared). The logo is changed on its own. */
export interface BrandingInput {
  productName?: string | null;
  colours?: BrandColours;
  supportUrl?: string | null;
  defaultLanguage?: string | null;
  texts?: Record<string, Record<string, string>>;
}

/**
 * The brand, languages and logo of an environment's sign-in pages. Every change is checked
 * (WCAG AA contrast, known message keys, image type from the bytes) and audited as
 * `environment.branding_changed`, naming the fields that changed, never their values.
 */
export class BrandingService {
  constructor(
    private readonly store: Pick<Store, 'environments' | 'pageSettings' | 'transaction'>,
    private readonly clock: Clock,
    private readonly audit: AdminAudit = new AdminAudit(),
  ) {}

  async show(envName: string): Promise<BrandingView> {
    const env = await this.environment(envName);
    return view(env, await this.store.pageSettings.get(env.id));
  }

  /**
   * `expect` sees the brand as read and may refuse (an admin's If-Match); the write then applies
   * only to that version, so a change made in between is never overwritten.
   */
  async replace(envName: string, input: BrandingInput, expect?: (current: BrandingView) => void): Promise<BrandingView> {
    const env = await this.environment(envName);
    const before = await this.store.pageSettings.get(env.id);
    expect?.(view(env, before));
    const next = checked(input);
    const changed = changedFields(before, next);
    const settings = { ...next, updatedAt: this.clock.now() };
    const event = { type: 'environment.branding_changed', env, subject: { kind: 'environment', id: env.id }, details: () => ({ fields: changed }) } as const;
    const guard = {
      read: before,
      reread: (tx: TransactionStore) => tx.pageSettings.get(env.id),
      view: (s: EnvironmentPageSettings | undefined) => view(env, s),
      expect,
      what: 'the brand',
    };
    await this.audit.change(this.store, event, async (tx) => {
      await holdUnchanged(tx, env, guard);
      await tx.pageSettings.put(env.id, settings);
    });
    return view(env, await this.store.pageSettings.get(env.id));
  }

  /** Stores a new logo, checked from its bytes (PNG, WebP or script-free SVG, at most 100 KB). */
  async putLogo(envName: string, bytes: Uint8Array, declaredType: string): Promise<BrandingView> {
    const env = await this.environment(envName);
    const contentType = checkLogo(bytes, declaredType);
    const logo = { bytes, contentType, sha256: createHash('sha256').update(bytes).digest('hex') };
    const event = { type: 'environment.branding_changed', env, subject: { kind: 'environment', id: env.id }, details: () => ({ fields: ['logo'] }) } as const;
    await this.audit.change(this.store, event, (tx) => tx.pageSettings.putLogo(env.id, logo, this.clock.now()));
    return view(env, await this.store.pageSettings.get(env.id));
  }

  /** The logo's bytes and type, for a preview; undefined when the environment has none. */
  async logoOf(envName: string): Promise<BrandLogo | undefined> {
    return this.store.pageSettings.getLogo((await this.environment(envName)).id);
  }

  /** The settings as stored, for a preview of the pages. */
  async settingsOf(envName: string): Promise<EnvironmentPageSettings | undefined> {
    return this.store.pageSettings.get((await this.environment(envName)).id);
  }

  async deleteLogo(envName: string): Promise<BrandingView> {
    const env = await this.environment(envName);
    const event = { type: 'environment.branding_changed', env, subject: { kind: 'environment', id: env.id }, details: () => ({ fields: ['logo'] }) } as const;
    await this.audit.change(this.store, event, (tx) => tx.pageSettings.putLogo(env.id, undefined, this.clock.now()));
    return view(env, await this.store.pageSettings.get(env.id));
  }

  private async environment(name: string): Promise<Environment> {
    const env = await this.store.environments.findByName(name);
    if (!env) throw new AdminError('not_found', `no environment named ${name}`);
    return env;
  }
}

type CheckedSettings = Omit<EnvironmentPageSettings, 'logo' | 'updatedAt'>;

function checked(input: BrandingInput): CheckedSettings {
  const colours = checkColourSyntax(input.colours ?? {});
  checkContrast(colours);
  const texts = checkTexts(input.texts ?? {});
  const branding: Branding = {
    ...(input.productName == null ? {} : { productName: checkProductName(input.productName) }),
    ...(Object.keys(colours).length === 0 ? {} : { colours }),
    ...(input.supportUrl == null ? {} : { supportUrl: checkSupportUrl(input.supportUrl) }),
  };
  return { branding, texts, ...(input.defaultLanguage == null ? {} : { defaultLanguage: checkDefaultLanguage(input.defaultLanguage, texts) }) };
}

/** The wire names of the fields that differ: `product_name`, `colours.accent`, `texts.de`… */
function changedFields(before: EnvironmentPageSettings | undefined, next: CheckedSettings): string[] {
  const was: CheckedSettings = before ?? { branding: {}, texts: {} };
  const fields: string[] = [];
  const differs = (a: unknown, b: unknown) => JSON.stringify(a ?? null) !== JSON.stringify(b ?? null);
  if (differs(was.branding.productName, next.branding.productName)) fields.push('product_name');
  if (differs(was.branding.supportUrl, next.branding.supportUrl)) fields.push('support_url');
  if (differs(was.defaultLanguage, next.defaultLanguage)) fields.push('default_language');
  for (const [field, wire] of Object.entries(COLOUR_FIELDS) as [keyof BrandColours, string][]) {
    if (differs(was.branding.colours?.[field], next.branding.colours?.[field])) fields.push(`colours.${wire}`);
  }
  for (const language of new Set([...Object.keys(was.texts), ...Object.keys(next.texts)])) {
    if (differs(was.texts[language], next.texts[language])) fields.push(`texts.${language}`);
  }
  return fields;
}

function view(env: Environment, settings: EnvironmentPageSettings | undefined): BrandingView {
  const b = settings?.branding ?? {};
  const c = b.colours ?? {};
  return {
    environment: env.name,
    product_name: b.productName ?? null,
    colours: { accent: c.accent ?? null, accent_text: c.accentText ?? null, dark_accent: c.darkAccent ?? null, dark_accent_text: c.darkAccentText ?? null },
    support_url: b.supportUrl ?? null,
    default_language: settings?.defaultLanguage ?? null,
    texts: { ...(settings?.texts ?? {}) } as Record<string, Record<string, string>>,
    logo: settings?.logo ? { content_type: settings.logo.contentType, sha256: settings.logo.sha256 } : null,
    updated_at: settings ? new Date(settings.updatedAt).toISOString() : null,
  };
}

/** A view's fields as a `BrandingInput` (for `apply` and the CLI, which change some fields and keep the rest). */
export function brandingInputOf(v: BrandingView): BrandingInput {
  const colours: BrandColours = {};
  if (v.colours.accent !== null) colours.accent = v.colours.accent;
  if (v.colours.accent_text !== null) colours.accentText = v.colours.accent_text;
  if (v.colours.dark_accent !== null) colours.darkAccent = v.colours.dark_accent;
  if (v.colours.dark_accent_text !== null) colours.darkAccentText = v.colours.dark_accent_text;
  return { productName: v.product_name, colours, supportUrl: v.support_url, defaultLanguage: v.default_language, texts: v.texts };
}
