import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { type BrandingInput, type BrandingView, brandingInputOf } from '../admin/branding.ts';
import { withAdmin } from './context.ts';
import { printKeyValues } from './output.ts';
import type { CliBranding } from './remote-branding.ts';

const LOGO_TYPES: Record<string, string> = { '.png': 'image/png', '.webp': 'image/webp', '.svg': 'image/svg+xml' };

/** `--text de.login.title=Willkommen`: language, message key and text. */
function textArg(value: string, previous: [string, string, string][] = []): [string, string, string][] {
  const match = /^([a-z]{2,3})\.([a-zA-Z_.]+)=(.*)$/s.exec(value);
  if (!match) throw new InvalidArgumentError('give LANG.KEY=TEXT, e.g. de.login.title=Willkommen');
  return [...previous, [match[1] as string, match[2] as string, match[3] as string]];
}

interface SetOptions {
  env: string;
  productName?: string;
  accent?: string;
  accentText?: string;
  darkAccent?: string;
  darkAccentText?: string;
  supportUrl?: string;
  defaultLanguage?: string;
  text?: [string, string, string][];
  clearTexts?: boolean;
  json?: boolean;
}

/** The current settings with the options given applied; `''` clears a field. */
export function mergedBranding(current: BrandingView, o: SetOptions): BrandingInput {
  const input = brandingInputOf(current);
  const pick = (given: string | undefined, was: string | null | undefined) => (given === undefined ? (was ?? null) : given === '' ? null : given);
  const colours = { ...input.colours };
  for (const [field, given] of [
    ['accent', o.accent],
    ['accentText', o.accentText],
    ['darkAccent', o.darkAccent],
    ['darkAccentText', o.darkAccentText],
  ] as const) {
    if (given === '') delete colours[field];
    else if (given !== undefined) colours[field] = given;
  }
  const texts: Record<string, Record<string, string>> = o.clearTexts ? {} : structuredClone(input.texts ?? {});
  for (const [language, key, text] of o.text ?? []) {
    texts[language] = { ...(texts[language] ?? {}) };
    if (text === '') delete texts[language][key];
    else texts[language][key] = text;
    if (Object.keys(texts[language]).length === 0) delete texts[language];
  }
  return {
    productName: pick(o.productName, input.productName),
    colours,
    supportUrl: pick(o.supportUrl, input.supportUrl),
    defaultLanguage: pick(o.defaultLanguage, input.defaultLanguage),
    texts,
  };
}

function print(view: BrandingView, json: boolean | undefined): void {
  if (json) {
    console.log(JSON.stringify(view));
    return;
  }
  printKeyValues({
    environment: view.environment,
    product_name: view.product_name ?? '-',
    ...Object.fromEntries(Object.entries(view.colours).map(([k, v]) => [k, v ?? '-'])),
    support_url: view.support_url ?? '-',
    default_language: view.default_language ?? '-',
    texts:
      Object.entries(view.texts)
        .map(([language, entries]) => `${language}:${Object.keys(entries).length}`)
        .join(' ') || '-',
    logo: view.logo ? `${view.logo.content_type} ${view.logo.sha256.slice(0, 12)}` : '-',
  });
}

/** `branding show|set|logo`: an environment's page brand, default language, texts and logo. */
export function registerBrandingCommands(program: Command): void {
  const branding = program.command('branding').description("an environment's sign-in pages: brand, colours, languages, texts and logo");
  branding
    .command('show')
    .description('show the brand of an environment')
    .requiredOption('--env <name>', 'environment')
    .option('--json', 'print JSON')
    .action(withAdmin(async (ctx, o: { env: string; json?: boolean }) => print(await brandingOf(ctx).show(o.env), o.json)));
  branding
    .command('set')
    .description('change some fields, keeping the others (an empty value clears a field); colours are checked for WCAG AA contrast')
    .requiredOption('--env <name>', 'environment')
    .option('--product-name <name>', 'shown instead of "Gatehouse"')
    .option('--accent <#rrggbb>', 'main button and focus colour (light)')
    .option('--accent-text <#rrggbb>', 'text on the main button (light)')
    .option('--dark-accent <#rrggbb>', 'main button and focus colour (dark)')
    .option('--dark-accent-text <#rrggbb>', 'text on the main button (dark)')
    .option('--support-url <https-url>', 'help link in the footer')
    .option('--default-language <tag>', 'language when the browser asks for none the pages speak')
    .addOption(new Option('--text <lang.key=text>', 'a text of the pages in a language (repeatable; empty text removes it)').argParser(textArg))
    .option('--clear-texts', 'remove every custom text first')
    .option('--json', 'print JSON')
    .action(
      withAdmin(async (ctx, o: SetOptions) => {
        const service = brandingOf(ctx);
        print(await service.replace(o.env, mergedBranding(await service.show(o.env), o)), o.json);
      }),
    );
  branding
    .command('logo')
    .description('upload the logo (PNG, WebP or SVG without script, at most 100 KB), or remove it')
    .requiredOption('--env <name>', 'environment')
    .argument('[file]', 'image file (.png, .webp, .svg)')
    .option('--remove', 'remove the logo')
    .option('--json', 'print JSON')
    .action(
      withAdmin(async (ctx, file: string | undefined, o: { env: string; remove?: boolean; json?: boolean }) => {
        const service = brandingOf(ctx);
        if (o.remove) {
          print(await service.deleteLogo(o.env), o.json);
          return;
        }
        if (file === undefined) throw new InvalidArgumentError('give the image file, or --remove');
        const type = LOGO_TYPES[extname(file).toLowerCase()];
        if (type === undefined) throw new InvalidArgumentError('the logo file must end in .png, .webp or .svg');
        print(await service.putLogo(o.env, new Uint8Array(readFileSync(file)), type), o.json);
      }),
    );
}

const brandingOf = (ctx: { branding?: CliBranding }): CliBranding => {
  if (!ctx.branding) throw new Error('branding is not available here');
  return ctx.branding;
};
