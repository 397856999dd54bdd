import { object } from '../schemas.ts';
import type { AdminRoute } from './route.ts';

const ME = object({
  client_id: { type: 'string' },
  subject: { type: 'string' },
  environment: { type: 'string' },
  scopes: { type: 'array', items: { type: 'string' } },
});

/** Who the token speaks for and what it may do: what a console or CLI shows before anything else. */
export const callerRoutes: readonly AdminRoute[] = [
  {
    method: 'GET',
    path: '/me',
    operationId: 'getCaller',
    summary: 'The admin client (and user) the token was issued to, and its scopes',
    access: 'token',
    status: 200,
    response: ME,
    run: async ({ caller, managementEnv }) => ({
      client_id: caller.clientId,
      subject: caller.subject,
      environment: managementEnv,
      scopes: [...caller.scopes].sort(),
    }),
  },
];
