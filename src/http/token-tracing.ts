import { OAuthError } from '../oauth/errors.ts';
import { GRANT_MODULES } from '../oauth/grants/index.ts';
import { setSpanAttributes, tracingEnabled, withSpan } from '../observability/tracing.ts';

// Only grant types Gatehouse knows reach a span; anything a client made up is `other`.
const KNOWN_GRANT_TYPES = new Set(GRANT_MODULES.map((m) => m.grantType));

/**
 * Wraps a surface's token handler in a `gatehouse.token` span with the surface, and after the
 * request the outcome: `issued` or the OAuth error code. Without a tracing SDK the handler is
 * returned as it is, so the token endpoint pays nothing.
 */
export function tracedTokenHandler<A extends unknown[], R>(surface: string, handler: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  if (!tracingEnabled()) return handler;
  return (...args) =>
    withSpan('gatehouse.token', { surface }, async () => {
      try {
        const result = await handler(...args);
        setSpanAttributes({ outcome: 'issued' });
        return result;
      } catch (error) {
        setSpanAttributes({ outcome: error instanceof OAuthError ? error.code : 'server_error' });
        throw error;
      }
    });
}

/**
 * What the token span learns during the request: the environment and grant type once the
 * request is read, the client once it has authenticated. Never a parameter value besides grant_type.
 */
export function annotateTokenSpan(attributes: { environment?: string; grantType?: string | undefined; clientId?: string | undefined }): void {
  const { environment, grantType, clientId } = attributes;
  setSpanAttributes({
    environment,
    grant_type: grantType === undefined ? undefined : KNOWN_GRANT_TYPES.has(grantType) ? grantType : 'other',
    client_id: clientId,
  });
}
