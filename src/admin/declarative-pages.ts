import type { BrandColours } from '../domain/page-settings.ts';
import { DEFAULT_SIGN_IN_POLICY, SECOND_FACTOR_MODES } from '../domain/second-factors.ts';
import { AdminError } from './admin-error.ts';
import type { BrandingInput, BrandingView } from './branding.ts';
import { checkColourSyntax, checkSupportUrl } from './branding-checks.ts';
import type { SignInPolicyChanges, SignInPolicyView } from './sign-in-policy.ts';

/*
 * The `sign_in` and `branding` blocks of a declared environment: its second-factor policy and
 * WebAuthn relying party, and the brand and languages of its pages (the logo, bytes, is uploaded
 * on its own and never declared). Each block says all there is: an undeclared field is its
 * default, so applying a file twice changes nothing the second time. The values are checked by
 * the same services as every other path (contrast, message keys, origins) when applied.
 */

/** A declared sign-in policy: every field. */
export type DeclaredSignIn = Required<SignInPolicyChanges>;

/** A declared brand: every field but the logo, null or empty where not declared. */
export type DeclaredBranding = Required<BrandingInput>;

/** What `plan` and `apply` call for these blocks: the services, or the admin API with `--server`. */
export interface SignInTarget {
  get(env: string): Promise<SignInPolicyView>;
  update(env: string, changes: SignInPolicyChanges): Promise<SignInPolicyView>;
}
export interface BrandingTarget {
  show(env: string): Promise<BrandingView>;
  replace(env: string, input: BrandingInput): Promise<BrandingView>;
}

const SIGN_IN_FIELDS = ['second_factor', 'required_clients', 'required_scopes', 'webauthn_rp_id', 'webauthn_origins'] as const;
const BRANDING_FIELDS = ['product_name', 'colours', 'support_url', 'default_language', 'texts'] as const;
const COLOURS: Record<string, keyof BrandColours> = {
  accent: 'accent',
  accent_text: 'accentText',
  dark_accent: 'darkAccent',
  dark_accent_text: 'darkAccentText',
};

const refuse = (path: string, problem: string) => new AdminError('invalid_argument', `${path}: ${problem}`);

function block(value: unknown, path: string, known: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw refuse(path, 'must be an object');
  const unknown = Object.keys(value).find((k) => !known.includes(k));
  if (unknown !== undefined) throw refuse(`${path}.${unknown}`, `unknown field (known: ${known.join(', ')})`);
  return value as Record<string, unknown>;
}

function strings(value: unknown, path: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw refuse(path, 'must be a list of strings');
  return value as string[];
}

function text(value: unknown, path: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw refuse(path, 'must be a string or null');
  return value;
}

/** The `sign_in` block: `second_factor` is required; lists default to empty, the relying-party id to the public URL's host. */
export function parseDeclaredSignIn(value: unknown, path: string): DeclaredSignIn | undefined {
  if (value === undefined) return undefined;
  const f = block(value, path, SIGN_IN_FIELDS);
  if (typeof f.second_factor !== 'string' || !SECOND_FACTOR_MODES.includes(f.second_factor as never))
    throw refuse(`${path}.second_factor`, `must be one of ${SECOND_FACTOR_MODES.join(', ')}`);
  return {
    secondFactor: f.second_factor as DeclaredSignIn['secondFactor'],
    requiredClients: strings(f.required_clients, `${path}.required_clients`),
    requiredScopes: strings(f.required_scopes, `${path}.required_scopes`),
    webauthnRpId: text(f.webauthn_rp_id, `${path}.webauthn_rp_id`) ?? DEFAULT_SIGN_IN_POLICY.webauthnRpId,
    webauthnOrigins: strings(f.webauthn_origins, `${path}.webauthn_origins`),
  };
}

function parseColours(value: unknown, path: string): BrandColours {
  if (value === undefined) return {};
  const f = block(value, path, Object.keys(COLOURS));
  const colours: BrandColours = {};
  for (const [wire, field] of Object.entries(COLOURS)) {
    const colour = text(f[wire], `${path}.${wire}`);
    if (colour !== null) colours[field] = colour;
  }
  return colours;
}

function parseTexts(value: unknown, path: string): Record<string, Record<string, string>> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw refuse(path, 'must map a language to its texts');
  const texts: Record<string, Record<string, string>> = {};
  for (const [lang, entries] of Object.entries(value)) {
    if (typeof entries !== 'object' || entries === null || Array.isArray(entries)) throw refuse(`${path}.${lang}`, 'must map a message key to its text');
    for (const [key, t] of Object.entries(entries)) if (typeof t !== 'string') throw refuse(`${path}.${lang}.${key}`, 'must be a string');
    texts[lang] = { ...(entries as Record<string, string>) };
  }
  return texts;
}

/** The `branding` block: product name, colours, support link, default language and texts (never the logo). */
export function parseDeclaredBranding(value: unknown, path: string): DeclaredBranding | undefined {
  if (value === undefined) return undefined;
  const f = block(value, path, BRANDING_FIELDS);
  const supportUrl = text(f.support_url, `${path}.support_url`);
  // Written as the services store them (a URL in its normal form, colours in lower case), so a plan compares like with like.
  return {
    productName: text(f.product_name, `${path}.product_name`),
    colours: checkColourSyntax(parseColours(f.colours, `${path}.colours`)),
    supportUrl: supportUrl === null ? null : checkSupportUrl(supportUrl),
    defaultLanguage: text(f.default_language, `${path}.default_language`),
    texts: parseTexts(f.texts, `${path}.texts`),
  };
}

/** The fields of the current policy the declared one changes, as [field, from, to]. */
export function signInDifferences(d: DeclaredSignIn, c: SignInPolicyView | undefined): Array<[string, unknown, unknown]> {
  return [
    ['sign_in.second_factor', c?.second_factor, d.secondFactor],
    ['sign_in.required_clients', c?.required_clients, d.requiredClients],
    ['sign_in.required_scopes', c?.required_scopes, d.requiredScopes],
    ['sign_in.webauthn_rp_id', c?.webauthn_rp_id, d.webauthnRpId],
    ['sign_in.webauthn_origins', c?.webauthn_origins, d.webauthnOrigins],
  ];
}

/** The fields of the current brand the declared one changes; texts by language (`branding.texts.de`). */
export function brandingDifferences(d: DeclaredBranding, c: BrandingView | undefined): Array<[string, unknown, unknown]> {
  const colours = Object.entries(COLOURS).map(([wire, field]): [string, unknown, unknown] => [
    `branding.colours.${wire}`,
    c?.colours[wire as keyof BrandingView['colours']],
    d.colours[field] ?? null,
  ]);
  const languages = [...new Set([...Object.keys(c?.texts ?? {}), ...Object.keys(d.texts)])].sort();
  const texts = languages.map((lang): [string, unknown, unknown] => [`branding.texts.${lang}`, sorted(c?.texts[lang]), sorted(d.texts[lang])]);
  return [
    ['branding.product_name', c?.product_name, d.productName],
    ...colours,
    ['branding.support_url', c?.support_url, d.supportUrl],
    ['branding.default_language', c?.default_language, d.defaultLanguage],
    ...texts,
  ];
}

/** An object with its keys in order (so key order in a file is no change), null when absent. */
function sorted(texts: Record<string, string> | undefined): Record<string, string> | null {
  if (texts === undefined) return null;
  return Object.fromEntries(Object.entries(texts).sort(([a], [b]) => a.localeCompare(b)));
}

/** Where `plan` and `apply` reach these blocks; a file that declares one needs it (checked before any change). */
export interface PageBlocksTarget {
  signInPolicy?: SignInTarget;
  branding?: BrandingTarget;
}

interface DeclaredBlocks {
  name: string;
  signIn?: DeclaredSignIn | undefined;
  branding?: DeclaredBranding | undefined;
}

/** One declared block against what the environment has now (nothing, for an environment still to be created). */
export interface PageBlockPlan {
  kind: 'sign_in' | 'branding';
  exists: boolean;
  pairs: Array<[string, unknown, unknown]>;
}

export async function pageBlockPlans(target: PageBlocksTarget, declared: DeclaredBlocks, exists: boolean): Promise<PageBlockPlan[]> {
  const plans: PageBlockPlan[] = [];
  if (declared.signIn) {
    if (!target.signInPolicy) throw new AdminError('invalid_argument', 'sign-in policies cannot be applied here');
    const current = exists ? await target.signInPolicy.get(declared.name) : undefined;
    plans.push({ kind: 'sign_in', exists, pairs: signInDifferences(declared.signIn, current) });
  }
  if (declared.branding) {
    if (!target.branding) throw new AdminError('invalid_argument', 'branding cannot be applied here');
    const current = exists ? await target.branding.show(declared.name) : undefined;
    plans.push({ kind: 'branding', exists, pairs: brandingDifferences(declared.branding, current) });
  }
  return plans;
}

/** Sets the blocks `changed` says differ: the policy as a whole, the brand as a whole (its logo kept). */
export async function applyPageBlocks(target: PageBlocksTarget, declared: DeclaredBlocks, changed: (kind: PageBlockPlan['kind']) => boolean): Promise<void> {
  if (declared.signIn && changed('sign_in')) await target.signInPolicy?.update(declared.name, declared.signIn);
  if (declared.branding && changed('branding')) await target.branding?.replace(declared.name, declared.branding);
}
