import type { FastifyInstance } from 'fastify';
import type { BrowserSessions } from '../../accounts/browser-sessions.ts';
import type { UserAuthenticator } from '../../accounts/users.ts';
import type { Clock } from '../../domain/clock.ts';
import type { OAuthCore } from '../../oauth/core.ts';
import type { EnvironmentResolver } from '../../oauth/environments.ts';
import { pageSecurityHeaders } from '../../pages/layout.ts';
import type { Surface } from '../../surfaces/surface.ts';
import { registerAuthorizeRoutes } from './authorization/authorize-routes.ts';
import { BrowserFlow } from './authorization/browser-flow.ts';
import { registerConsentRoutes } from './authorization/consent-routes.ts';
import { registerDeviceRoutes } from './authorization/device-routes.ts';
import { pageErrorHandler } from './authorization/error-pages.ts';
import { registerLoginRoutes } from './authorization/login-routes.ts';
import { brandStylesheetOfRequest, type PageContexts } from './page-context.ts';

export { readCookie, SESSION_COOKIE } from './authorization/session-cookie.ts';

export interface AuthorizationRoutesOptions {
  core: OAuthCore;
  environments: EnvironmentResolver;
  sessions: BrowserSessions;
  users: UserAuthenticator;
  bodyLimit: number;
  /** Cookies get `Secure` when the public URL is https. */
  secureCookies: boolean;
  clock: Clock;
  /** The language and brand of each page. */
  pages?: PageContexts;
  /** The authorization routes of every surface (the standard /envs/:env/authorize among them). */
  authorizeRoutes: readonly { surface: Surface; url: string }[];
}

/**
 * The browser-facing side of the authorization code flow, each environment's pages in the order
 * a browser meets them: /authorize (validate the request, hold it for the browser session), the
 * login page (authenticate), the consent page (the user's decision), then back to the client with
 * a code or an error. Every decision is the OAuth core's (`AuthorizationEndpoint`); these routes
 * handle cookies, forms and HTML.
 */
export async function authorizationRoutes(app: FastifyInstance, options: AuthorizationRoutesOptions): Promise<void> {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: options.bodyLimit }, (_request, body, done) => done(null, body));
  app.addHook('onSend', async (request, reply) => {
    reply.headers(pageSecurityHeaders(brandStylesheetOfRequest(request)));
  });
  app.setErrorHandler(pageErrorHandler(options.bodyLimit));

  const browser = new BrowserFlow(options);
  registerAuthorizeRoutes(app, browser, options);
  registerLoginRoutes(app, browser, options.users);
  registerConsentRoutes(app, browser);
  registerDeviceRoutes(app, browser, options.core.device.verification, options.secureCookies);
}
