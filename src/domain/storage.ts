/** The storage port: every store interface, one file per resource under `storage/`. */

export * from './storage/audit.ts';
export * from './storage/authorization.ts';
export * from './storage/clients.ts';
export * from './storage/errors.ts';
export * from './storage/import.ts';
export * from './storage/listing.ts';
export * from './storage/signing-keys.ts';
export * from './storage/store.ts';
export * from './storage/tokens.ts';
export * from './storage/usage.ts';
export * from './storage/users.ts';
