import type { OAuthErrorCode } from '../oauth/errors.ts';
import type { EndpointKind, EnvironmentSelection } from './profile.ts';
import type { WorkingHours } from './working-hours.ts';

/** One configured surface: a built-in profile, where it is mounted and what is overridden. */
export interface SurfaceSettings {
  /** Unique among surfaces; the profile name unless the same profile is mounted twice. */
  readonly name: string;
  readonly profile: string;
  /** Prefix of every route path: '' or `/segment…` without a trailing slash. */
  readonly mount: string;
  readonly environment: EnvironmentSelection;
  /** Route paths replacing the profile's, by endpoint. */
  readonly paths: Readonly<Partial<Record<EndpointKind, string>>>;
  /** Access-token lifetime in seconds for tokens issued here (over the profile's and the client's). */
  readonly accessTokenTtl: number | undefined;
  /** The scope every request on this surface asks for, whatever the client sends. */
  readonly scope: string | undefined;
  /** Extra request parameter aliases: alias → canonical name. */
  readonly requestAliases: Readonly<Record<string, string>>;
  /** Renamed fields of the token response: field → new name. */
  readonly responseFields: Readonly<Record<string, string>>;
  /** HTTP status by OAuth error code, over the profile's. */
  readonly statusMap: Readonly<Partial<Record<OAuthErrorCode, number>>>;
  readonly workingHours: WorkingHours | undefined;
}
