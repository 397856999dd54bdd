import { brandingRoutes } from './branding-routes.ts';
import { REGISTRATION_ROUTES } from './registration-routes.ts';
import { apiRoutes } from './routes/api-routes.ts';
import { auditRoutes } from './routes/audit-routes.ts';
import { callerRoutes } from './routes/caller-routes.ts';
import { clientMetadataDocumentRoutes } from './routes/client-metadata-document-routes.ts';
import { clientRoutes } from './routes/client-routes.ts';
import { environmentRoutes } from './routes/environment-routes.ts';
import type { AdminRoute } from './routes/route.ts';
import { serviceAccountRoutes } from './routes/service-account-routes.ts';
import { signingKeyRoutes } from './routes/signing-key-routes.ts';
import { userRoutes } from './routes/user-routes.ts';

export type { AdminApiServices, AdminRoute, RouteContext } from './routes/route.ts';

/**
 * Every admin API operation, one resource per file under `routes/`; the server, the OpenAPI
 * document and the tests all read this table. A new resource adds its file and one line here.
 */
export const ADMIN_ROUTES: readonly AdminRoute[] = [
  ...callerRoutes,
  ...environmentRoutes,
  ...clientRoutes,
  ...serviceAccountRoutes,
  ...userRoutes,
  ...signingKeyRoutes,
  ...apiRoutes,
  ...auditRoutes,
  ...REGISTRATION_ROUTES,
  ...clientMetadataDocumentRoutes,
  ...brandingRoutes,
];
