import { ConfigError } from '../domain/config-error.ts';
import { ENDPOINT_KINDS } from '../oauth/endpoints.ts';
import { ERROR_CODE_LIST, type OAuthErrorCode } from '../oauth/errors.ts';
import { isValidScopeToken } from '../oauth/scope.ts';
import type { EndpointKind, EnvironmentSelection } from '../surfaces/profile.ts';
import { BUILT_IN_PROFILES } from '../surfaces/profiles/index.ts';
import type { SurfaceSettings } from '../surfaces/settings.ts';
import { WorkingHours } from '../surfaces/working-hours.ts';

export type { SurfaceSettings };

const SURFACE_KEYS = ['name', 'profile', 'mount', 'environment', 'paths', 'accessTokenTtl', 'scope', 'aliases', 'statusMap', 'workingHours'];
const PATH = /^(\/[A-Za-z0-9._~-]+|\/\{env\})+$/;
const NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const FIELD = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;

type Raw = Record<string, unknown>;

/**
 * Validates the `surfaces` setting: a JSON array (from the config file, or the text of
 * GATEHOUSE_SURFACES). The standard surface is added with its defaults when not listed.
 */
export function parseSurfaces({ value, name: key }: { value: unknown; name: string }): readonly SurfaceSettings[] {
  let list: unknown = value ?? [];
  if (typeof list === 'string') {
    try {
      list = JSON.parse(list);
    } catch {
      throw new ConfigError(key, 'must be a JSON array of surfaces');
    }
  }
  if (!Array.isArray(list)) throw new ConfigError(key, 'must be an array of surfaces');
  const surfaces = list.map((entry, i) => parseSurface(entry, `${key}[${i}]`));
  if (!surfaces.some((s) => s.profile === 'standard')) surfaces.unshift(parseSurface({ profile: 'standard' }, `${key}[standard]`));
  const names = new Set<string>();
  for (const surface of surfaces) {
    if (names.has(surface.name)) throw new ConfigError(key, `two surfaces are named ${surface.name}; give one a distinct "name"`);
    names.add(surface.name);
  }
  return Object.freeze(surfaces);
}

function parseSurface(entry: unknown, key: string): SurfaceSettings {
  const raw = object(entry, key);
  unknownKeys(raw, SURFACE_KEYS, key);
  if (typeof raw.profile !== 'string' || !BUILT_IN_PROFILES.has(raw.profile)) {
    throw new ConfigError(`${key}.profile`, `must be one of ${[...BUILT_IN_PROFILES.keys()].join(', ')}`);
  }
  const profile = BUILT_IN_PROFILES.get(raw.profile);
  if (!profile) throw new ConfigError(`${key}.profile`, 'unknown profile');
  const name = raw.name === undefined ? profile.name : text(raw.name, `${key}.name`, NAME);
  const mount =
    raw.mount === undefined || raw.mount === '/' ? '' : text(typeof raw.mount === 'string' ? raw.mount.replace(/\/+$/, '') : raw.mount, `${key}.mount`, PATH);
  if (mount.includes('{env}')) throw new ConfigError(`${key}.mount`, 'must not contain {env}; put it in the paths');
  const environment = raw.environment === undefined ? profile.environment : environmentSelection(raw.environment, `${key}.environment`);
  if (!environment) throw new ConfigError(`${key}.environment`, `is required for the ${profile.name} profile (an environment name)`);
  const paths = pathOverrides(raw.paths, `${key}.paths`);
  for (const route of profile.routes) {
    const path = paths[route.endpoint] ?? route.path;
    const hasParam = path.includes('{env}');
    if ('param' in environment && !hasParam) throw new ConfigError(`${key}.paths`, `${path} has no {env} segment to select the environment`);
    if ('fixed' in environment && hasParam) throw new ConfigError(`${key}.environment`, `${path} has an {env} segment: use {"param": …}`);
  }
  for (const endpoint of Object.keys(paths)) {
    if (!profile.routes.some((r) => r.endpoint === endpoint))
      throw new ConfigError(`${key}.paths.${endpoint}`, `the ${profile.name} profile has no such route`);
  }
  const aliases = raw.aliases === undefined ? {} : object(raw.aliases, `${key}.aliases`);
  unknownKeys(aliases, ['request', 'response'], `${key}.aliases`);
  return Object.freeze({
    name,
    profile: profile.name,
    mount,
    environment,
    paths,
    accessTokenTtl: raw.accessTokenTtl === undefined ? undefined : seconds(raw.accessTokenTtl, `${key}.accessTokenTtl`),
    scope: raw.scope === undefined ? undefined : scope(raw.scope, `${key}.scope`),
    requestAliases: fieldMap(aliases.request, `${key}.aliases.request`),
    responseFields: fieldMap(aliases.response, `${key}.aliases.response`),
    statusMap: statusMap(raw.statusMap, `${key}.statusMap`),
    workingHours: raw.workingHours === undefined ? undefined : WorkingHours.parse(raw.workingHours, `${key}.workingHours`),
  });
}

function environmentSelection(value: unknown, key: string): EnvironmentSelection {
  if (typeof value === 'string') return { fixed: text(value, key, NAME) };
  const raw = object(value, key);
  unknownKeys(raw, ['param', 'values'], key);
  const param = text(raw.param, `${key}.param`, NAME);
  if (raw.values === undefined || raw.values === null) return { param, values: null };
  let values: Record<string, string>;
  if (Array.isArray(raw.values)) {
    values = Object.fromEntries(raw.values.map((v, i) => [text(v, `${key}.values[${i}]`, NAME), v as string]));
  } else {
    const map = object(raw.values, `${key}.values`);
    values = Object.fromEntries(Object.entries(map).map(([k, v]) => [text(k, `${key}.values`, NAME), text(v, `${key}.values.${k}`, NAME)]));
  }
  if (Object.keys(values).length === 0) throw new ConfigError(`${key}.values`, 'must list at least one environment');
  return { param, values: Object.freeze(values) };
}

function pathOverrides(value: unknown, key: string): Partial<Record<EndpointKind, string>> {
  if (value === undefined) return {};
  const raw = object(value, key);
  unknownKeys(raw, ENDPOINT_KINDS, key);
  const paths: Partial<Record<EndpointKind, string>> = {};
  for (const [endpoint, path] of Object.entries(raw)) {
    const checked = text(path, `${key}.${endpoint}`, PATH);
    if (checked.split('{env}').length > 2) throw new ConfigError(`${key}.${endpoint}`, 'may contain {env} only once');
    paths[endpoint as EndpointKind] = checked;
  }
  return Object.freeze(paths);
}

function statusMap(value: unknown, key: string): Partial<Record<OAuthErrorCode, number>> {
  if (value === undefined) return {};
  const raw = object(value, key);
  unknownKeys(raw, ERROR_CODE_LIST, key);
  const map: Partial<Record<OAuthErrorCode, number>> = {};
  for (const [code, status] of Object.entries(raw)) {
    if (typeof status !== 'number' || !Number.isInteger(status) || status < 400 || status > 599) {
      throw new ConfigError(`${key}.${code}`, 'must be an HTTP error status (400..599)');
    }
    map[code as OAuthErrorCode] = status;
  }
  return Object.freeze(map);
}

function fieldMap(value: unknown, key: string): Record<string, string> {
  if (value === undefined) return {};
  const raw = object(value, key);
  const map: Record<string, string> = {};
  for (const [from, to] of Object.entries(raw)) map[text(from, key, FIELD)] = text(to, `${key}.${from}`, FIELD);
  return Object.freeze(map);
}

function seconds(value: unknown, key: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 86_400) {
    throw new ConfigError(key, 'must be a whole number of seconds between 1 and 86400');
  }
  return value;
}

function scope(value: unknown, key: string): string {
  if (typeof value !== 'string' || value.split(' ').some((t) => !isValidScopeToken(t))) {
    throw new ConfigError(key, 'must be space-separated scope tokens');
  }
  return value;
}

function object(value: unknown, key: string): Raw {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError(key, 'must be an object');
  return value as Raw;
}

function text(value: unknown, key: string, pattern: RegExp): string {
  if (typeof value !== 'string' || !pattern.test(value)) throw new ConfigError(key, `must match ${pattern.source}, got ${JSON.stringify(value)}`);
  return value;
}

function unknownKeys(raw: Raw, allowed: readonly string[], key: string): void {
  for (const name of Object.keys(raw)) {
    if (!allowed.includes(name)) throw new ConfigError(`${key}.${name}`, `is not a known setting (known: ${allowed.join(', ')})`);
  }
}
