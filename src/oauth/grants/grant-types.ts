/**
 * The grant types of the registry (index.ts), in its order, as plain lists: what the standard
 * surface accepts and the CLI's help names, read without loading every grant (and with them
 * jose), so that loading the configuration or starting the CLI stays cheap. A test keeps them
 * equal to what the grant modules declare.
 */
export const GRANT_TYPES: readonly string[] = [
  'authorization_code',
  'refresh_token',
  'client_credentials',
  'urn:ietf:params:oauth:grant-type:jwt-bearer',
  'urn:ietf:params:oauth:grant-type:device_code',
  'urn:ietf:params:oauth:grant-type:token-exchange',
];

/** The grant types an administrator may give a client (the modules with `assignable: 'clients'`). */
export const ASSIGNABLE_CLIENT_GRANT_TYPES: readonly string[] = GRANT_TYPES.filter((grant) => grant !== 'urn:ietf:params:oauth:grant-type:jwt-bearer');
