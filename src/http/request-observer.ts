/**
 * Told of each API request once answered. `environment` is the resolved environment's name or
 * `unknown`, `grantType` the raw `grant_type` of a token request (the observer bounds it),
 * `outcome` the OAuth error code rendered or the status class (`2xx`).
 */
export interface RequestObserver {
  observeRequest(endpoint: string, surface: string, environment: string, grantType: string | undefined, outcome: string, seconds: number): void;
}
