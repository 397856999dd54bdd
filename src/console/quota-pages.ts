import type { ClientView, EnvironmentView, KeyRotationView } from '../admin/admin-service.ts';
import { alert, dl, hidden, numberInput } from './form-fields.ts';
import { csrfField, escapeHtml as e } from './layout.ts';
import { clientPath, envPage, envPath, matches, type PageContext, searchForm, table } from './pages.ts';

/* Quotas (the environment's default and each client's own) and the schedule of key rotations. */

const quotaText = (quota: number | null, none: string): string => (quota === null ? none : `${quota} requests per window`);

/** The environment's default quota, and each client's own with a form per row. */
export function renderQuotas(ctx: PageContext, env: EnvironmentView, clients: readonly ClientView[], q: string, error?: string): string {
  const path = `${envPath(env.name)}/quotas`;
  const rows = clients
    .filter((c) => c.type !== 'service_account' && matches(q, c.name, c.client_id))
    .map((c) => [
      `<a href="${clientPath(env.name, c.client_id)}">${e(c.name)}</a> <code>${e(c.client_id)}</code>`,
      e(quotaText(c.quota, `the environment's default (${quotaText(env.default_quota, 'unlimited')})`)),
      ctx.viewer.canWrite ? clientQuotaForm(ctx, path, c) : '',
    ]);
  const defaults = ctx.viewer.canWrite
    ? [
        `<form method="post" action="${path}">${csrfField(ctx.viewer)}`,
        // The value read: a change saved meanwhile is refused rather than overwritten.
        hidden('default_quota_was', env.default_quota === null ? '' : String(env.default_quota)),
        numberInput('default_quota', 'Default quota (requests per window)', env.default_quota, 'For every client that sets none of its own. Empty: unlimited.'),
        '<button class="button primary inline" type="submit">Save default quota</button></form>',
      ].join('')
    : dl([['Default quota', e(quotaText(env.default_quota, 'unlimited'))]]);
  const content = [
    alert(error),
    `<section class="panel" aria-labelledby="default-quota"><h3 id="default-quota">Environment default</h3>${defaults}`,
    '<p class="note">The window is GATEHOUSE_QUOTA_WINDOW. Running servers see a change within the cache TTL.</p></section>',
    searchForm(path, 'Search clients by name or id', q),
    table('Client quotas', ['Client', 'Quota', ctx.viewer.canWrite ? 'Change' : ''], rows, 'No clients.'),
  ].join('');
  return envPage(ctx, env.name, 'quotas', 'Quotas', content);
}

function clientQuotaForm(ctx: PageContext, path: string, c: ClientView): string {
  const id = `quota-${c.client_id}`;
  return [
    `<form class="quota-form" method="post" action="${path}/client">${csrfField(ctx.viewer)}`,
    hidden('client_id', c.client_id),
    hidden('quota_was', c.quota === null ? '' : String(c.quota)),
    `<label class="sr-only" for="${e(id)}">Quota of ${e(c.name)}</label>`,
    `<input type="text" inputmode="numeric" pattern="[0-9]*" id="${e(id)}" name="quota" value="${c.quota ?? ''}" placeholder="default" autocomplete="off">`,
    `<button class="button secondary inline" type="submit" aria-label="Save the quota of ${e(c.name)}">Save</button></form>`,
  ].join('');
}

/** The interval of scheduled key rotations, and the activation lead each new key waits. */
export function renderRotation(ctx: PageContext, rotation: KeyRotationView, error?: string): string {
  const env = rotation.environment;
  const interval = rotation.key_rotation_interval;
  const details = dl([
    ['Scheduled rotation', interval === null ? 'none: keys rotate only when asked' : `every ${interval} s (${days(interval)})`],
    ['Activation lead', `${rotation.activation_lead} s: a new key is published this long before it signs`],
  ]);
  const form = ctx.viewer.canWrite
    ? [
        '<section class="panel" aria-labelledby="schedule"><h3 id="schedule">Schedule</h3>',
        alert(error),
        `<form method="post" action="${envPath(env)}/rotation">${csrfField(ctx.viewer)}`,
        hidden('interval_was', interval === null ? '' : String(interval)),
        numberInput(
          'interval_seconds',
          'Rotate every (seconds)',
          interval,
          `Empty: no scheduled rotation. At least an hour, and longer than the activation lead (${rotation.activation_lead} s). 2592000 is 30 days.`,
        ),
        '<p class="note">Whichever running server gets there first rotates; the old key stays published until its tokens expire.</p>',
        '<button class="button primary inline" type="submit">Save schedule</button></form></section>',
      ].join('')
    : '';
  return envPage(ctx, env, 'rotation', 'Key rotation', `<section class="panel">${details}</section>${form}`);
}

const days = (seconds: number): string => {
  const d = seconds / 86_400;
  return Number.isInteger(d) ? `${d} day${d === 1 ? '' : 's'}` : `${d.toFixed(1)} days`;
};
