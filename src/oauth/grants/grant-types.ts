/**
 * The grant types an administrator may give a client, in the registry's order: the registry
 * (`CLIENT_GRANT_TYPES` of index.ts, from each grant module's `assignable`) as a plain list, so
 * that the CLI names them in its help without loading every grant. A test keeps the two equal.
 */
export const ASSIGNABLE_CLIENT_GRANT_TYPES: readonly string[] = [
  'authorization_code',
  'refresh_token',
  'client_credentials',
  'urn:ietf:params:oauth:grant-type:device_code',
  'urn:ietf:params:oauth:grant-type:token-exchange',
];
