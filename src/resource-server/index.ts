/**
 * Gatehouse's resource-server library: `import { createVerifier } from 'gatehouse/resource-server'`.
 * Verifies RFC 9068 JWT access tokens locally against the issuer's JWKS and opaque tokens by RFC
 * 7662 introspection, and answers refusals per RFC 6750, through adapters for Fastify,
 * Express/Connect and fetch-API frameworks.
 */
export { BearerError, type BearerErrorCode, type BearerErrorResponse, renderBearerError } from './errors.ts';
export type { BearerRequest } from './extract.ts';
export { createFetchAuth, type FetchAuthResult } from './fetch-adapter.ts';
export type { IntrospectionSettings } from './introspection.ts';
export type { FetchFunction } from './jwks.ts';
export {
  type ConnectMiddleware,
  createExpressAuth,
  type FastifyLikeInstance,
  type FastifyLikeReply,
  type FastifyLikeRequest,
  gatehouseAuth,
  type NodeLikeRequest,
  type NodeLikeResponse,
  requireScopes,
} from './node-adapters.ts';
export { type AccessToken, createVerifier, OPAQUE_TOKEN_PREFIX, type Verifier, type VerifierOptions } from './verifier.ts';
