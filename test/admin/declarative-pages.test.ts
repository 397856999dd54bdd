import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseDeclaration } from '../../src/admin/declarative.ts';
import { applyDeclaration, planDeclaration } from '../../src/admin/declarative-plan.ts';
import { localDeclarativeTarget } from '../../src/admin/declarative-target.ts';
import { AuditRecorder, NO_AUDIT_LINES } from '../../src/audit/recorder.ts';
import { formatPlan } from '../../src/cli/apply-commands.ts';
import { ManualClock } from '../../src/domain/clock.ts';
import type { Store } from '../../src/domain/storage.ts';
import { type AdminServices, createAdminServices } from '../../src/server/admin.ts';
import { testDatabases } from '../helpers/databases.ts';
import { testConfig } from '../helpers/fixtures.ts';

const LOGO = new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"><rect width="8" height="8"/></svg>');

const declared = (env: Record<string, unknown>) => parseDeclaration({ version: 1, environments: [{ name: 'SHOP', ...env }] });

const SIGN_IN = { second_factor: 'required', required_scopes: ['payments:write'], webauthn_origins: ['https://shop.example'] };
const BRANDING = {
  product_name: 'Acme Shop',
  colours: { accent: '#0b6e4f', accent_text: '#ffffff' },
  support_url: 'https://help.shop.example',
  default_language: 'de',
  texts: { de: { 'login.title': 'Im Shop anmelden' } },
};

for (const database of await testDatabases()) {
  describe(`apply: sign-in policy and branding on ${database.name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let s: AdminServices;
    const clock = new ManualClock(Date.UTC(2026, 5, 1));

    before(async () => {
      ({ store, cleanup } = await database.open());
      const audit = new AuditRecorder(store.audit, clock, NO_AUDIT_LINES, { outbox: false });
      s = createAdminServices(testConfig({ passwordHashCost: 10 }), store, clock, undefined, { audit, actor: { kind: 'cli', id: 'operator' } });
    });
    after(async () => cleanup());

    it('plans and applies both blocks on a new environment, then plans nothing more', async () => {
      const target = localDeclarativeTarget(s);
      const file = declared({ sign_in: SIGN_IN, branding: BRANDING });
      const first = await planDeclaration(target, file);
      assert.deepEqual(
        first.map((c) => [c.kind, c.action]),
        [
          ['environment', 'create'],
          ['sign_in', 'create'],
          ['branding', 'create'],
        ],
      );
      const lines = formatPlan(first);
      assert.ok(lines.includes('+ sign in SHOP/sign_in'), lines.join('\n'));
      assert.ok(
        lines.some((l) => /^\s+sign_in\.second_factor: .* → "?required"?$/.test(l)),
        lines.join('\n'),
      );
      await applyDeclaration(target, file);
      const policy = await s.signIn.get('SHOP');
      assert.equal(policy.second_factor, 'required');
      assert.deepEqual(policy.required_scopes, ['payments:write']);
      assert.deepEqual(policy.webauthn_origins, ['https://shop.example']);
      const brand = await s.branding.show('SHOP');
      assert.equal(brand.product_name, 'Acme Shop');
      assert.equal(brand.colours.accent, '#0b6e4f');
      assert.equal(brand.default_language, 'de');
      assert.deepEqual(brand.texts, { de: { 'login.title': 'Im Shop anmelden' } });
      assert.ok((await planDeclaration(target, file)).every((c) => c.action === 'unchanged'));
    });

    it('a change is one field of one update; the logo is kept; an undeclared field returns to its default', async () => {
      const target = localDeclarativeTarget(s);
      await s.branding.putLogo('SHOP', LOGO, 'image/svg+xml');
      const { product_name: _, ...rest } = BRANDING;
      const file = declared({
        sign_in: { ...SIGN_IN, second_factor: 'optional' },
        branding: { ...rest, texts: { de: { 'login.title': 'Anmelden bei Acme' } } },
      });
      const changes = await planDeclaration(target, file);
      assert.deepEqual(changes.find((c) => c.kind === 'sign_in')?.changes, [{ field: 'sign_in.second_factor', from: 'required', to: 'optional' }]);
      assert.deepEqual(
        changes.find((c) => c.kind === 'branding')?.changes.map((c) => c.field),
        ['branding.product_name', 'branding.texts.de'],
      );
      await applyDeclaration(target, file);
      const brand = await s.branding.show('SHOP');
      assert.equal(brand.product_name, null);
      assert.equal(brand.logo?.content_type, 'image/svg+xml', 'apply never touches the logo');
      assert.equal((await s.signIn.get('SHOP')).second_factor, 'optional');
      assert.ok((await planDeclaration(target, file)).every((c) => c.action === 'unchanged'));
    });

    it('refuses unknown fields and bad values before any change', async () => {
      assert.throws(() => declared({ sign_in: { second_factor: 'always' } }), /sign_in\.second_factor: must be one of/);
      assert.throws(() => declared({ sign_in: { second_factor: 'optional', lockout: 3 } }), /sign_in\.lockout: unknown field/);
      assert.throws(() => declared({ branding: { logo: 'x.png' } }), /branding\.logo: unknown field/);
      assert.throws(() => declared({ branding: { colours: { accent: 5 } } }), /branding\.colours\.accent: must be a string/);
      const target = localDeclarativeTarget(s);
      // The services check contrast as on every other path: nothing is half-applied.
      const low = declared({ branding: { ...BRANDING, colours: { accent: '#ffffff', accent_text: '#fefefe' } } });
      await assert.rejects(applyDeclaration(target, low), /contrast/i);
      assert.equal((await s.branding.show('SHOP')).colours.accent, '#0b6e4f');
      const { signIn: _s, branding: _b, ...withoutPages } = s;
      await assert.rejects(
        planDeclaration(localDeclarativeTarget(withoutPages as AdminServices), declared({ sign_in: SIGN_IN })),
        /sign-in policies cannot be applied here/,
      );
    });
  });
}
