import { ConfigError } from '../domain/config-error.ts';
import { GATEHOUSE_ROUTES } from '../oauth/endpoints.ts';
import { BUILT_IN_PROFILES } from './profiles/index.ts';
import type { SurfaceSettings } from './settings.ts';
import { Surface } from './surface.ts';

// Routes Gatehouse serves besides the surfaces' (discovery, pages, health): a surface may not take them.
const FIXED_ROUTES = Object.values(GATEHOUSE_ROUTES).map((route) => `${route.method} ${route.path}`);

/**
 * The configured surfaces, checked as a set: no route may overlap another's or a fixed route
 * (a static path such as /envs/PRODUCTION/token would silently shadow /envs/:env/token), and a
 * profile with a token-info route must be able to render it. `key` names the setting in errors.
 */
export function buildSurfaces(config: { readonly surfaces: readonly SurfaceSettings[] }, key = 'surfaces'): Surface[] {
  const surfaces = config.surfaces.map((settings) => {
    const profile = BUILT_IN_PROFILES.get(settings.profile);
    if (!profile) throw new ConfigError(key, `unknown profile ${settings.profile}`);
    if (profile.routes.some((r) => r.endpoint === 'token_info') && !profile.dialect.renderTokenInfo) {
      throw new ConfigError(key, `profile ${profile.name} has a token_info route but no renderer`);
    }
    return new Surface(settings, profile);
  });
  const taken: { route: string; owner: string }[] = FIXED_ROUTES.map((route) => ({ route, owner: 'Gatehouse itself' }));
  for (const surface of surfaces) {
    for (const route of surface.routes) {
      const candidate = `${route.method} ${route.url}`;
      const clash = taken.find((t) => routesOverlap(t.route, candidate));
      if (clash) {
        const owner = clash.owner === 'Gatehouse itself' ? clash.owner : `the ${clash.owner} surface`;
        throw new ConfigError(key, `${route.method} ${route.template} of the ${surface.name} surface overlaps ${clash.route.replace(/^\w+ /, '')} of ${owner}`);
      }
      taken.push({ route: candidate, owner: surface.name });
    }
  }
  return surfaces;
}

/** Whether one request could match both routes: same method, same segment count, every segment equal or a parameter. */
export function routesOverlap(a: string, b: string): boolean {
  const [methodA, pathA = ''] = a.split(' ');
  const [methodB, pathB = ''] = b.split(' ');
  if (methodA !== methodB) return false;
  const segmentsA = pathA.split('/');
  const segmentsB = pathB.split('/');
  if (segmentsA.length !== segmentsB.length) return false;
  return segmentsA.every((segment, i) => {
    const other = segmentsB[i] ?? '';
    return segment === other || segment.startsWith(':') || other.startsWith(':');
  });
}
