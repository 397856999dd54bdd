import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CONSOLE_STYLESHEET } from '../../src/console/layout.ts';
import { PAGE_STYLESHEET } from '../../src/pages/layout.ts';

/** The colour variables of the light `:root` and of the dark one, from both stylesheets. */
function palettes(): { light: Map<string, string>; dark: Map<string, string> } {
  const light = new Map<string, string>();
  const dark = new Map<string, string>();
  for (const sheet of [PAGE_STYLESHEET, CONSOLE_STYLESHEET]) {
    const darkStart = sheet.indexOf('@media (prefers-color-scheme: dark)');
    assert.ok(darkStart > 0, 'each stylesheet has a dark palette');
    const darkEnd = sheet.indexOf('}\n}', darkStart);
    const read = (text: string, into: Map<string, string>) => {
      for (const [, name, value] of text.matchAll(/--([a-z-]+):\s*(#[0-9a-f]{6})/g)) into.set(name ?? '', value ?? '');
    };
    read(sheet.slice(0, darkStart), light);
    read(sheet.slice(darkStart, darkEnd), dark);
  }
  return { light, dark };
}

/** WCAG 2.x relative luminance and contrast ratio. */
function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = Number.parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * (r ?? 0) + 0.7152 * (g ?? 0) + 0.0722 * (b ?? 0);
}
const contrast = (a: string, b: string): number => {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return ((hi ?? 0) + 0.05) / ((lo ?? 0) + 0.05);
};

/** Text colour on background colour, as the console stylesheet pairs them. */
const TEXT_PAIRS: [string, string][] = [
  ['text', 'bg'],
  ['text', 'card'],
  ['muted', 'bg'],
  ['muted', 'card'],
  ['link', 'bg'],
  ['link', 'card'],
  ['accent-text', 'accent'],
  ['alert-text', 'alert-bg'],
  ['ok-text', 'ok-bg'],
  ['off-text', 'off-bg'],
  ['warn-text', 'warn-bg'],
  ['text', 'input-bg'],
];

describe('console colours', () => {
  const { light, dark } = palettes();
  for (const [mode, palette] of [
    ['light', light],
    ['dark', dark],
  ] as const) {
    it(`give text a contrast of at least 4.5:1 in ${mode} mode, and bars and focus rings 3:1`, () => {
      for (const [fg, bg] of TEXT_PAIRS) {
        const [a, b] = [palette.get(fg), palette.get(bg)];
        assert.ok(a && b, `${mode}: --${fg} and --${bg} are defined`);
        assert.ok(contrast(a, b) >= 4.5, `${mode}: --${fg} on --${bg} is ${contrast(a, b).toFixed(2)}:1`);
      }
      for (const [fg, bg] of [
        ['bar', 'card'],
        ['focus', 'bg'],
        ['focus', 'card'],
      ] as const) {
        const [a, b] = [palette.get(fg) ?? '', palette.get(bg) ?? ''];
        assert.ok(contrast(a, b) >= 3, `${mode}: --${fg} on --${bg} is ${contrast(a, b).toFixed(2)}:1`);
      }
    });
  }
});
