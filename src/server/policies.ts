import type { AdminPolicy } from '../admin/policy.ts';
import type { Config } from '../config/config.ts';
import type { HttpOptions } from '../http/app.ts';
import type { OAuthPolicy } from '../oauth/policy.ts';

/** The configuration `serve` runs with: production demands, and dev mode fills in, these two. */
export type ServerConfig = Config & { publicUrl: string; keySecret: Buffer };

/** What the OAuth core reads, and nothing else of the configuration. */
export function oauthPolicy(config: Config): OAuthPolicy {
  return Object.freeze({
    accessTokenTtl: config.accessTokenTtl,
    maxAccessTokenTtl: config.maxAccessTokenTtl,
    cacheTtl: config.cacheTtl,
    cacheStaleIfError: config.cacheStaleIfError,
    authFailureLimit: config.authFailureLimit,
    authFailureSourceLimit: config.authFailureSourceLimit,
    authFailureClientLimit: config.authFailureClientLimit,
    authFailureWindow: config.authFailureWindow,
    quotaWindow: config.quotaWindow,
    assertionMaxLifetime: config.assertionMaxLifetime,
    clockSkew: config.clockSkew,
    dpopProofWindow: config.dpopProofWindow,
    authorizationCodeTtl: config.authorizationCodeTtl,
    deviceCodeTtl: config.deviceCodeTtl,
    deviceCodeInterval: config.deviceCodeInterval,
    pushedRequestTtl: config.pushedRequestTtl,
    refreshTokenIdleTtl: config.refreshTokenIdleTtl,
    refreshTokenAbsoluteTtl: config.refreshTokenAbsoluteTtl,
    refreshRetryGrace: config.refreshRetryGrace,
    idTokenTtl: config.idTokenTtl,
    clientMetadataDocuments: {
      allowLoopback: config.clientMetadataDocumentsAllowLoopback,
      timeoutMs: config.clientMetadataDocumentsTimeout,
      maxBytes: config.clientMetadataDocumentsMaxBytes,
    },
  });
}

/** What the application services read. */
export function adminPolicy(config: Config & { publicUrl: string }): AdminPolicy {
  return Object.freeze({
    publicUrl: config.publicUrl,
    signingAlgorithm: config.signingAlgorithm,
    maxAccessTokenTtl: config.maxAccessTokenTtl,
    cacheTtl: config.cacheTtl,
    jwksMaxAge: config.jwksMaxAge,
    secretRotationOverlap: config.secretRotationOverlap,
    passwordHashCost: config.passwordHashCost,
  });
}

/** What the HTTP adapter reads. */
export function httpOptions(config: ServerConfig): HttpOptions {
  return Object.freeze({
    host: config.host,
    port: config.port,
    publicUrl: config.publicUrl,
    bodyLimit: config.bodyLimit,
    jwksMaxAge: config.jwksMaxAge,
    trustProxy: config.trustProxy,
  });
}
