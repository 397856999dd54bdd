/** Domain records shared by the OAuth core, the application services and storage, one file per concept under `model/`. */

export * from './model/authorization.ts';
export * from './model/clients.ts';
export * from './model/environment.ts';
export * from './model/tokens.ts';
export * from './model/users.ts';
