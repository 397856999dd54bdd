import type { BrandingInput, BrandingService, BrandingView } from '../admin/branding.ts';

/** What the branding commands call: the service on this machine, or the admin API with `--server`. */
export type CliBranding = Pick<BrandingService, 'show' | 'replace' | 'putLogo' | 'deleteLogo'>;

/** The admin API client as far as branding uses it (kept structural, so this file imports no CLI plumbing). */
interface BrandingApi {
  get<T>(path: string): Promise<T>;
  call<T>(method: string, path: string, call?: { body?: unknown }): Promise<{ body: T }>;
  update<T>(method: 'PATCH' | 'PUT', path: string, body: (current: T) => unknown): Promise<T>;
}

const brandingPath = (env: string) => `/environments/${encodeURIComponent(env)}/branding`;

/** Branding over the admin API: the same operations, PUT with If-Match of the version read. */
export function remoteBranding(api: BrandingApi): CliBranding {
  return {
    show: (env) => api.get<BrandingView>(brandingPath(env)),
    replace: (env, input) => api.update<BrandingView>('PUT', brandingPath(env), () => brandingBody(input)),
    putLogo: async (env, bytes, type) =>
      (await api.call<BrandingView>('PUT', `${brandingPath(env)}/logo`, { body: { content_type: type, data: Buffer.from(bytes).toString('base64') } })).body,
    deleteLogo: async (env) => (await api.call<BrandingView>('DELETE', `${brandingPath(env)}/logo`)).body,
  };
}

/** A `BrandingInput` under the admin API's wire names. */
export function brandingBody(input: BrandingInput): Record<string, unknown> {
  const c = input.colours ?? {};
  return {
    product_name: input.productName ?? null,
    colours: { accent: c.accent ?? null, accent_text: c.accentText ?? null, dark_accent: c.darkAccent ?? null, dark_accent_text: c.darkAccentText ?? null },
    support_url: input.supportUrl ?? null,
    default_language: input.defaultLanguage ?? null,
    texts: input.texts ?? {},
  };
}
