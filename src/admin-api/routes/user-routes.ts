import { type ProfileView, profileFromView } from '../../admin/user-profile.ts';
import { ifMatches, pageOf, pageQuery } from '../http-semantics.ts';
import * as S from '../schemas.ts';
import { type AdminRoute, ENV, type Json, LIST_FILTERED, optional } from './route.ts';

const USER = `${ENV}/users/{username}`;

/** The profile attributes a user body gives (the schema checked their types; the service checks their values). */
const profileOf = (body: Json) => profileFromView(body as Partial<ProfileView>);

export const userRoutes: readonly AdminRoute[] = [
  {
    method: 'GET',
    path: `${ENV}/users`,
    operationId: 'listUsers',
    summary: 'List the users of an environment',
    access: 'read',
    list: LIST_FILTERED,
    status: 200,
    response: S.page(S.USER),
    run: async ({ services, params, query }) => pageOf(await services.users.page(params.env ?? '', pageQuery(query, 'string', LIST_FILTERED.filters))),
  },
  {
    method: 'POST',
    path: `${ENV}/users`,
    operationId: 'createUser',
    summary: 'Create a user with a password (never returned or logged) and, optionally, OpenID Connect profile attributes',
    access: 'write',
    body: S.CREATE_USER,
    status: 201,
    response: S.USER,
    idempotent: true,
    run: ({ services, params, body }) =>
      services.users.create({ env: params.env ?? '', username: String(body.username), password: String(body.password), profile: profileOf(body) }),
  },
  {
    method: 'GET',
    path: USER,
    operationId: 'getUser',
    summary: 'Read a user',
    access: 'read',
    status: 200,
    response: S.USER,
    etag: true,
    run: ({ services, params }) => services.users.get(params.env ?? '', params.username ?? ''),
  },
  {
    method: 'PATCH',
    path: USER,
    operationId: 'updateUser',
    summary: 'Change a user: profile attributes (null clears one), enabled (disabling signs them out and revokes their tokens)',
    access: 'write',
    body: S.UPDATE_USER,
    status: 200,
    response: S.USER,
    etag: true,
    current: ({ services, params }) => services.users.get(params.env ?? '', params.username ?? ''),
    run: ({ services, params, body, ifMatch }) =>
      services.users.update(params.env ?? '', params.username ?? '', { ...profileOf(body), enabled: optional<boolean>(body.enabled) }, ifMatches(ifMatch)),
  },
  {
    method: 'PUT',
    path: `${USER}/password`,
    operationId: 'setUserPassword',
    summary: 'Set a new password; signs the user out everywhere and revokes their tokens',
    access: 'write',
    body: S.SET_PASSWORD,
    status: 200,
    response: S.USER,
    run: ({ services, params, body }) => services.users.setPassword(params.env ?? '', params.username ?? '', String(body.password)),
  },
  {
    method: 'POST',
    path: `${USER}/revoke-sessions`,
    operationId: 'revokeUserSessions',
    summary: 'Sign the user out everywhere and revoke every token issued for them',
    access: 'write',
    status: 200,
    response: S.USER,
    run: ({ services, params }) => services.users.revokeSessions(params.env ?? '', params.username ?? ''),
  },
];
