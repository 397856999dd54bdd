import type { BrandingService } from '../admin/branding.ts';
import { MAX_LOGO_BYTES } from '../admin/branding-checks.ts';
import type { BrandColours } from '../domain/page-settings.ts';
import type { Access } from './auth.ts';
import { ifMatches } from './http-semantics.ts';
import { Problem } from './problems.ts';
import { body, object, type Schema } from './schemas.ts';

/*
 * An environment's brand, languages and logo on the admin API: read, replace (PUT, with If-Match),
 * upload or remove the logo. Each change is audited as `environment.branding_changed`.
 */

const BRANDING = '/environments/{env}/branding';
const nullableStr: Schema = { type: ['string', 'null'] };
const colour: Schema = { type: ['string', 'null'], pattern: '^#[0-9a-fA-F]{6}$' };
const colours = object({ accent: colour, accent_text: colour, dark_accent: colour, dark_accent_text: colour });
const texts: Schema = {
  type: 'object',
  propertyNames: { pattern: '^[a-z]{2,3}$' },
  additionalProperties: { type: 'object', additionalProperties: { type: 'string', maxLength: 500 } },
};

export const BRANDING_VIEW = object({
  environment: { type: 'string' },
  product_name: nullableStr,
  colours,
  support_url: nullableStr,
  default_language: nullableStr,
  texts,
  logo: { anyOf: [object({ content_type: { type: 'string' }, sha256: { type: 'string' } }), { type: 'null' }] },
  updated_at: { type: ['string', 'null'], format: 'date-time' },
});

const PUT_BRANDING = body({
  product_name: { type: ['string', 'null'], maxLength: 60 },
  colours: body({ accent: colour, accent_text: colour, dark_accent: colour, dark_accent_text: colour }),
  support_url: { type: ['string', 'null'], maxLength: 500 },
  default_language: { type: ['string', 'null'], maxLength: 35 },
  texts,
});

// Base64 of at most 100 KB, in a JSON body: the route's own body limit leaves room for it.
const LOGO_BODY_LIMIT = 160 * 1024;
const PUT_LOGO = body(
  { content_type: { enum: ['image/png', 'image/webp', 'image/svg+xml'] }, data: { type: 'string', maxLength: Math.ceil(MAX_LOGO_BYTES / 3) * 4 + 4 } },
  ['content_type', 'data'],
);

/** What these routes read of a request (a part of `RouteContext`, which imports this file). */
interface BrandingContext {
  services: { readonly branding?: BrandingService | undefined };
  params: Record<string, string>;
  body: Record<string, unknown>;
  ifMatch: string | undefined;
}

/** The shape of an `AdminRoute`, as far as these routes fill it in. */
interface BrandingRoute {
  method: 'GET' | 'PUT' | 'DELETE';
  path: string;
  operationId: string;
  summary: string;
  access: Access;
  body?: Schema;
  bodyLimit?: number;
  status: number;
  response: Schema;
  etag?: boolean;
  current?: (ctx: BrandingContext) => Promise<unknown>;
  run(ctx: BrandingContext): Promise<unknown>;
}

const branding = (ctx: BrandingContext): BrandingService => {
  if (!ctx.services.branding) throw new Problem('not-found', 'branding is not available on this node');
  return ctx.services.branding;
};

const colourOf = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

function coloursOf(value: unknown): BrandColours {
  const c = (value ?? {}) as Record<string, unknown>;
  const out: BrandColours = {};
  const accent = colourOf(c.accent);
  const accentText = colourOf(c.accent_text);
  const darkAccent = colourOf(c.dark_accent);
  const darkAccentText = colourOf(c.dark_accent_text);
  if (accent !== undefined) out.accent = accent;
  if (accentText !== undefined) out.accentText = accentText;
  if (darkAccent !== undefined) out.darkAccent = darkAccent;
  if (darkAccentText !== undefined) out.darkAccentText = darkAccentText;
  return out;
}

export const brandingRoutes: BrandingRoute[] = [
  {
    method: 'GET',
    path: BRANDING,
    operationId: 'getBranding',
    summary: "Read an environment's page brand, default language and texts",
    access: 'read',
    status: 200,
    response: BRANDING_VIEW,
    etag: true,
    run: (ctx) => branding(ctx).show(ctx.params.env ?? ''),
  },
  {
    method: 'PUT',
    path: BRANDING,
    operationId: 'putBranding',
    summary: "Replace an environment's page brand (product name, colours checked for WCAG AA contrast, support link), default language and texts",
    access: 'write',
    body: PUT_BRANDING,
    status: 200,
    response: BRANDING_VIEW,
    etag: true,
    current: (ctx) => branding(ctx).show(ctx.params.env ?? ''),
    run: (ctx) =>
      branding(ctx).replace(
        ctx.params.env ?? '',
        {
          productName: (ctx.body.product_name as string | null | undefined) ?? null,
          colours: coloursOf(ctx.body.colours),
          supportUrl: (ctx.body.support_url as string | null | undefined) ?? null,
          defaultLanguage: (ctx.body.default_language as string | null | undefined) ?? null,
          texts: (ctx.body.texts as Record<string, Record<string, string>> | undefined) ?? {},
        },
        ifMatches(ctx.ifMatch),
      ),
  },
  {
    method: 'PUT',
    path: `${BRANDING}/logo`,
    operationId: 'putBrandingLogo',
    summary: "Upload an environment's logo (PNG, WebP or script-free SVG, at most 100 KB, base64)",
    access: 'write',
    body: PUT_LOGO,
    bodyLimit: LOGO_BODY_LIMIT,
    status: 200,
    response: BRANDING_VIEW,
    run: (ctx) => branding(ctx).putLogo(ctx.params.env ?? '', new Uint8Array(Buffer.from(String(ctx.body.data), 'base64')), String(ctx.body.content_type)),
  },
  {
    method: 'DELETE',
    path: `${BRANDING}/logo`,
    operationId: 'deleteBrandingLogo',
    summary: "Remove an environment's logo",
    access: 'write',
    status: 200,
    response: BRANDING_VIEW,
    run: (ctx) => branding(ctx).deleteLogo(ctx.params.env ?? ''),
  },
];
