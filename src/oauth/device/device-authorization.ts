import { randomUUID } from 'node:crypto';
import { hashSecret, randomToken } from '../../crypto/secrets.ts';
import type { Clock } from '../../domain/clock.ts';
import type { Environment } from '../../domain/model.ts';
import { type DeviceAuthorizationStore, StorageUnavailableError } from '../../domain/storage.ts';
import { type ApiDirectory, grantNamedResources, requestedResources, scopeForResources } from '../apis.ts';
import type { ClientAuthenticator, PresentedCredentials } from '../client-auth.ts';
import { OAuthError } from '../errors.ts';
import { formatUserCode, generateUserCode } from './user-code.ts';

/** RFC 8628 §3.4 grant type. */
export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
/** Prefix of device codes, so secret scanners recognise a leaked one. */
export const DEVICE_CODE_PREFIX = 'gdc_';
/** Where the verification page lives under the issuer (RFC 8628 §3.2 `verification_uri`). */
export const VERIFICATION_PATH = '/device';

/** How long a device code lives and how often its client may poll, in seconds. */
export interface DeviceCodeSettings {
  readonly ttl: number;
  readonly interval: number;
}

/** A device authorization request as the OAuth core sees it: no HTTP, duplicates already refused. */
export interface DeviceAuthorizationRequest {
  env: Environment;
  issuer: string;
  params: Readonly<Record<string, string>>;
  credentials: PresentedCredentials;
  audiences: readonly string[];
}

/** RFC 8628 §3.2 device authorization response. */
export interface DeviceAuthorizationResponse {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
}

/** Tries at a user code unused among the pending ones: a clash is ~N/2.56e10, so a second try is already rare. */
const USER_CODE_TRIES = 3;

/**
 * RFC 8628 §3.1–3.2: the device authorization endpoint. The client authenticates as at the token
 * endpoint (a public client by its client_id alone) and must be registered for the device code
 * grant; `scope` and RFC 8707 `resource` are checked as at the authorization endpoint. Only the
 * hashes of both codes are stored: the device code's plainly (256 random bits), the user code's
 * under a server key (its 2.56e10 values could be enumerated against a plain hash).
 */
export class DeviceAuthorizationEndpoint {
  constructor(
    private readonly authenticator: ClientAuthenticator,
    private readonly apis: ApiDirectory,
    private readonly store: DeviceAuthorizationStore,
    private readonly clock: Clock,
    private readonly hashUserCode: (code: string) => string,
    private readonly settings: DeviceCodeSettings,
  ) {}

  async handle({ env, issuer, params, credentials, audiences }: DeviceAuthorizationRequest): Promise<DeviceAuthorizationResponse> {
    const { client } = await this.authenticator.authenticate(env, credentials, audiences);
    if (!client.grantTypes.includes(DEVICE_CODE_GRANT)) throw new OAuthError('unauthorized_client', 'this client may not use the device authorization grant');
    // RFC 8707 §2 and RFC 6749 §3.3, as /authorize checks them.
    const grant = await grantNamedResources(this.apis, env.id, client, requestedResources(params));
    const scope = scopeForResources(params.scope, client, grant);
    const deviceCode = `${DEVICE_CODE_PREFIX}${randomToken(32)}`;
    const now = this.clock.now();
    for (let attempt = 1; ; attempt++) {
      const userCode = generateUserCode();
      try {
        await this.store.insert({
          deviceCodeHash: hashSecret(deviceCode),
          envId: env.id,
          userCodeHash: this.hashUserCode(userCode),
          clientId: client.clientId,
          scope,
          ...(grant.audience ? { resources: grant.audience } : {}),
          familyId: randomUUID(),
          createdAt: now,
          expiresAt: now + this.settings.ttl * 1000,
          interval: this.settings.interval,
          lastPolledAt: null,
          status: 'pending',
          userId: null,
          decidedAt: null,
          consumedAt: null,
        });
      } catch (error) {
        // A user code already pending in this environment (the unique index); anything else is real.
        if (error instanceof StorageUnavailableError || attempt >= USER_CODE_TRIES) throw error;
        continue;
      }
      const shown = formatUserCode(userCode);
      const verificationUri = `${issuer}${VERIFICATION_PATH}`;
      return {
        device_code: deviceCode,
        user_code: shown,
        verification_uri: verificationUri,
        verification_uri_complete: `${verificationUri}?user_code=${shown}`,
        expires_in: this.settings.ttl,
        interval: this.settings.interval,
      };
    }
  }
}
