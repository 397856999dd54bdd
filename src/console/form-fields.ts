import { escapeHtml as e } from './layout.ts';

/* The fields and small pieces the console's forms and detail panels are built from. */

export const alert = (error: string | undefined): string => (error ? `<p class="alert" role="alert" id="form-error">${e(error)}</p>` : '');
export const dl = (rows: [string, string][]): string => `<dl class="fields">${rows.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl>`;
export const text = (value: string | null): string => (value ? e(value) : '—');
export const codes = (values: readonly string[]): string => (values.length ? values.map((v) => `<code>${e(v)}</code>`).join(' ') : '—');

export function input(id: string, label: string, value: string | null, hint = '', type = 'text', max = 200): string {
  const hintHtml = hint ? `<span class="hint">${e(hint)}</span>` : '';
  return `<div class="field"><label for="${id}">${e(label)}${hintHtml}</label><input type="${type}" id="${id}" name="${id}" maxlength="${max}" value="${e(value ?? '')}" autocomplete="off"></div>`;
}

export function checkbox(id: string, label: string, checked: boolean): string {
  return `<div class="field"><label class="checkbox" for="${id}"><input type="checkbox" id="${id}" name="${id}" value="1"${checked ? ' checked' : ''}>${e(label)}</label></div>`;
}

export function select(id: string, label: string, options: readonly [string, string][], selected: string): string {
  const items = options.map(([value, name]) => `<option value="${e(value)}"${value === selected ? ' selected' : ''}>${e(name)}</option>`).join('');
  return `<div class="field"><label for="${id}">${e(label)}</label><select id="${id}" name="${id}">${items}</select></div>`;
}

export function textarea(id: string, label: string, value: string, hint = '', rows = 4): string {
  const hintHtml = hint ? `<span class="hint">${e(hint)}</span>` : '';
  return `<div class="field"><label for="${id}">${e(label)}${hintHtml}</label><textarea id="${id}" name="${id}" rows="${rows}">${e(value)}</textarea></div>`;
}

/** A number field where empty means none (null). */
export function numberInput(id: string, label: string, value: number | null, hint = ''): string {
  const hintHtml = hint ? `<span class="hint">${e(hint)}</span>` : '';
  return `<div class="field"><label for="${id}">${e(label)}${hintHtml}</label><input type="text" inputmode="numeric" pattern="[0-9]*" id="${id}" name="${id}" value="${value === null ? '' : value}" autocomplete="off"></div>`;
}

/** A hidden field. */
export const hidden = (name: string, value: string): string => `<input type="hidden" name="${e(name)}" value="${e(value)}">`;
