/**
 * The admin scopes and what they allow, read the same way by the admin API and the console:
 * `admin:write` covers everything, `admin:read` every read; `admin:write:ENV` and
 * `admin:read:ENV` the same inside one environment. A write scope includes the matching read.
 */
export const ADMIN_READ = 'admin:read';
export const ADMIN_WRITE = 'admin:write';

export type Access = 'read' | 'write';

/** Whether these scopes allow reading or writing `env` (undefined: something of no one environment, or every environment). */
export function allows(scopes: ReadonlySet<string>, access: Access, env: string | undefined): boolean {
  const granted = (level: Access) => scopes.has(`admin:${level}`) || (env !== undefined && scopes.has(`admin:${level}:${env}`));
  return granted('write') || (access === 'read' && granted('read'));
}

const PER_ENVIRONMENT = /^admin:(?:read|write):(.+)$/;

/**
 * The environments these scopes name one by one (`admin:read:ENV`, `admin:write:ENV`); each is
 * then checked with `allows`. Together with `allows(scopes, 'read', undefined)` it says whether a
 * token may read anything at all.
 */
export function scopedEnvironments(scopes: ReadonlySet<string>): string[] {
  return [...new Set([...scopes].flatMap((scope) => PER_ENVIRONMENT.exec(scope)?.[1] ?? []))].sort();
}

/** Whether these scopes allow reading at least one environment. */
export function readsAnything(scopes: ReadonlySet<string>): boolean {
  return allows(scopes, 'read', undefined) || scopedEnvironments(scopes).some((env) => allows(scopes, 'read', env));
}
