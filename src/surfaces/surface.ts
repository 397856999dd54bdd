import { ENDPOINTS } from '../oauth/endpoints.ts';
import { OAuthError } from '../oauth/errors.ts';
import type { TokenResult } from '../oauth/grants/grant.ts';
import { SECRET_GRANT_PARAMETERS } from '../oauth/grants/index.ts';
import type { Params } from '../oauth/params.ts';
import type { BodyEncoding, EndpointKind, ErrorContext, Profile, RenderedResponse } from './profile.ts';
import type { SurfaceSettings } from './settings.ts';

/** A route of a configured surface, with its final path. */
export interface SurfaceRoute {
  readonly endpoint: EndpointKind;
  readonly method: 'GET' | 'POST';
  /** Path as the router takes it (`:appEnv` for the environment segment). */
  readonly url: string;
  /** Path as OpenAPI writes it (`{appEnv}`). */
  readonly template: string;
  readonly encodings: readonly BodyEncoding[];
  readonly required: readonly string[];
  readonly missingTokenIsNoop: boolean;
  readonly summary: string;
  readonly repeatable: readonly string[];
}

// Parameters whose values are credentials: never echoed back in an error body. Those of client
// authentication and the lookup endpoints here, each grant's as its module marks them.
const SECRET_PARAMETERS: ReadonlySet<string> = new Set(['client_secret', 'client_assertion', 'token', 'access_token', 'password', ...SECRET_GRANT_PARAMETERS]);

/** The parameters of one request as the client named and sent them, for error bodies. */
export class ReceivedParams {
  constructor(
    private readonly names: Readonly<Record<string, string>>,
    private readonly values: Readonly<Record<string, unknown>>,
    private readonly aliases: Readonly<Record<string, string>>,
    private readonly usedAlias: boolean,
  ) {}

  static none = new ReceivedParams({}, {}, {}, false);

  /** The name the client used; for a missing one, the alias form when the client wrote aliases. */
  nameOf(parameter: string): string {
    const received = Object.hasOwn(this.names, parameter) ? this.names[parameter] : undefined;
    if (received !== undefined) return received;
    if (!this.usedAlias) return parameter;
    return Object.entries(this.aliases).find(([, canonical]) => canonical === parameter)?.[0] ?? parameter;
  }

  /** What the client sent for a parameter, unless it is a secret under its own name or the one it aliases. */
  valueOf(parameter: string): unknown {
    const canonical = Object.hasOwn(this.aliases, parameter) ? this.aliases[parameter] : undefined;
    if (SECRET_PARAMETERS.has(parameter) || (canonical !== undefined && SECRET_PARAMETERS.has(canonical))) return undefined;
    return Object.hasOwn(this.values, parameter) ? this.values[parameter] : undefined;
  }
}

/**
 * A configured surface: one profile's routes mounted at a path, serving one or several
 * environments, with the overrides of its settings applied.
 */
export class Surface {
  readonly name: string;
  readonly routes: readonly SurfaceRoute[];
  readonly accessTokenTtl: number | undefined;
  private readonly aliases: Readonly<Record<string, string>>;
  /** Whether requests need renaming, defaults or a fixed scope before the core sees them. */
  private readonly rewrites: boolean;

  constructor(
    readonly settings: SurfaceSettings,
    readonly profile: Profile,
  ) {
    this.name = settings.name;
    this.accessTokenTtl = settings.accessTokenTtl ?? profile.accessTokenTtl;
    this.aliases = { ...profile.requestAliases, ...settings.requestAliases };
    const param = 'param' in settings.environment ? settings.environment.param : undefined;
    this.routes = profile.routes.map((route) => {
      const path = `${settings.mount}${settings.paths[route.endpoint] ?? route.path}`;
      return {
        endpoint: route.endpoint,
        method: ENDPOINTS[route.endpoint].method,
        url: param ? path.replace('{env}', `:${param}`) : path,
        template: param ? path.replace('{env}', `{${param}}`) : path,
        encodings: route.encodings,
        required: route.required ?? [],
        missingTokenIsNoop: route.missingTokenIsNoop === true,
        summary: route.summary ?? ENDPOINTS[route.endpoint].summary,
        repeatable: route.repeatable ?? [],
      };
    });
    this.rewrites = Object.keys(this.aliases).length > 0 || Object.keys(profile.defaultParams).length > 0 || settings.scope !== undefined;
  }

  /** The environment a request addresses, from its path parameters; a refused value is a 400. */
  environmentName(pathParams: Readonly<Record<string, string>>): string {
    const selection = this.settings.environment;
    if ('fixed' in selection) return selection.fixed;
    const value = pathParams[selection.param] ?? '';
    if (selection.values === null) return value;
    const name = Object.hasOwn(selection.values, value) ? selection.values[value] : undefined;
    if (name === undefined) {
      throw new OAuthError('invalid_request', `${selection.param} must be one of ${Object.keys(selection.values).join(', ')}`, {
        parameter: selection.param,
        reason: 'environment_unknown',
      });
    }
    return name;
  }

  /**
   * The path segment that selects `envName` on this surface: '' for a fixed environment, undefined
   * when the surface does not serve it.
   */
  segmentFor(envName: string): string | undefined {
    const selection = this.settings.environment;
    if ('fixed' in selection) return selection.fixed === envName ? '' : undefined;
    if (selection.values === null) return envName;
    return Object.entries(selection.values).find(([, name]) => name === envName)?.[0];
  }

  /** Seconds until the surface opens, or undefined while it is open (or has no working hours). */
  closedFor(now: number): number | undefined {
    return this.settings.workingHours?.secondsUntilOpen(now);
  }

  /**
   * Turns the parameters as received into the ones the OAuth core reads: aliases renamed,
   * defaults filled in, the fixed scope imposed.
   */
  canonicalParams(received: Params): { params: Params; received: ReceivedParams } {
    if (!this.rewrites) return { params: received, received: new ReceivedParams({}, received, {}, false) };
    const params: Params = Object.create(null);
    const names: Record<string, string> = Object.create(null);
    let usedAlias = false;
    for (const [name, value] of Object.entries(received)) {
      const canonical = Object.hasOwn(this.aliases, name) ? (this.aliases[name] as string) : name;
      if (canonical in params) {
        throw new OAuthError('invalid_request', `parameter ${canonical} was sent more than once (as ${names[canonical]} and ${name})`, {
          parameter: canonical,
        });
      }
      usedAlias ||= canonical !== name;
      params[canonical] = value;
      names[canonical] = name;
    }
    const result = new ReceivedParams(names, { ...params }, this.aliases, usedAlias);
    for (const [name, value] of Object.entries(this.profile.defaultParams)) params[name] ??= value;
    if (this.settings.scope !== undefined) params.scope = this.settings.scope;
    return { params, received: result };
  }

  /** The fields of a body refused while it was parsed, as sent and by the names sent, for its error body. */
  receivedAsSent(fields: Readonly<Record<string, unknown>>): ReceivedParams {
    return new ReceivedParams({}, fields, this.aliases, false);
  }

  /** Refuses a request missing a field the product documents as required. */
  checkRequired(params: Params, route: SurfaceRoute, received: ReceivedParams): void {
    for (const name of route.required) {
      if (params[name] === undefined) throw new OAuthError('invalid_request', `${received.nameOf(name)} is required`, { parameter: name });
    }
  }

  /** Refuses a grant type the profile does not offer (before any client authentication). */
  checkGrantType(params: Params): void {
    const grantType = params.grant_type;
    if (grantType !== undefined && !this.profile.grantTypes.includes(grantType)) {
      throw new OAuthError('unsupported_grant_type', `grant_type ${grantType} is not supported here`, { parameter: 'grant_type' });
    }
  }

  renderToken(result: TokenResult, now: Date): RenderedResponse {
    const rendered = this.profile.dialect.renderToken(result, now);
    const renames = this.settings.responseFields;
    if (Object.keys(renames).length === 0 || typeof rendered.body !== 'object' || rendered.body === null) return rendered;
    const body = Object.fromEntries(Object.entries(rendered.body).map(([field, value]) => [renames[field] ?? field, value]));
    return { ...rendered, body };
  }

  renderError(error: OAuthError, context: Omit<ErrorContext, 'status' | 'receivedName' | 'receivedValue'>, received: ReceivedParams): RenderedResponse {
    const status = this.settings.statusMap[error.code] ?? this.profile.dialect.statusOf(error);
    return this.profile.dialect.renderError(error, {
      ...context,
      status,
      receivedName: (p) => received.nameOf(p),
      receivedValue: (p) => received.valueOf(p),
    });
  }
}
