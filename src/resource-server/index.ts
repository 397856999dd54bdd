/**
 * Gatehouse's resource-server library: `import { createVerifier } from 'gatehouse/resource-server'`.
 * Verifies RFC 9068 JWT access tokens locally against the issuer's JWKS and opaque tokens by RFC
 * 7662 introspection, checks RFC 9449 DPoP proofs, publishes RFC 9728 Protected Resource Metadata,
 * and answers refusals per RFC 6750 and RFC 9449 §7.1, through adapters for Fastify,
 * Express/Connect and fetch-API frameworks.
 */
export {
  DPOP_ALGORITHMS,
  type DpopAlgorithm,
  type DpopNonceProvider,
  type DpopReplayStore,
  jwkThumbprint,
  MemoryReplayStore,
} from './dpop.ts';
export { createDpopNonces, type DpopNonceOptions, type HmacDpopNonces } from './dpop-nonces.ts';
export type { DpopMode, DpopOptions, RouteAuthOptions } from './dpop-policy.ts';
export { type AuthScheme, BearerError, type BearerErrorCode, type BearerErrorResponse, type Challenges, renderBearerError } from './errors.ts';
export type { BearerRequest } from './extract.ts';
export { createFetchAuth, createResourceMetadataHandler, type FetchAuthResult } from './fetch-adapter.ts';
export type { FetchFunction } from './fetch-function.ts';
export type { IntrospectionSettings } from './introspection.ts';
export {
  type ConnectMiddleware,
  createExpressAuth,
  createResourceMetadataMiddleware,
  type FastifyLikeInstance,
  type FastifyLikeReply,
  type FastifyLikeRequest,
  gatehouseAuth,
  type NodeLikeRequest,
  type NodeLikeResponse,
  requireAuth,
  requireScopes,
} from './node-adapters.ts';
export {
  RESOURCE_METADATA_SUFFIX,
  type ResourceMetadata,
  type ResourceMetadataOptions,
  resourceMetadataUrl,
} from './resource-metadata.ts';
export { type AccessToken, createVerifier, OPAQUE_TOKEN_PREFIX, type Verifier, type VerifierOptions } from './verifier.ts';
