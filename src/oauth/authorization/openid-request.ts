import type { Environment, OidcPrompt, OidcRequestParameters } from '../../domain/model.ts';
import { verifyIdTokenHint } from '../openid/id-token-hint.ts';
import type { AuthorizationDeps } from './flow-context.ts';
import type { RequestCheck, RequestUnderCheck } from './request-check.ts';
import type { AuthorizationRefusal } from './response.ts';

/*
 * The OpenID Connect side of an /authorize request (Core §3.1.2.1). A request is an OpenID
 * authentication request when its granted scope includes `openid`; any other request ignores
 * every parameter here, as unknown parameters are ignored (RFC 6749 §3.1). The `claims`
 * parameter (Core §5.5) is not supported and is ignored like any unknown parameter.
 */

/** Whether a resolved scope makes the request an OpenID Connect authentication request (Core §3.1.2.1). */
export function isOpenIdRequest(scope: readonly string[]): boolean {
  return scope.includes('openid');
}

const PROMPTS: readonly OidcPrompt[] = ['none', 'login', 'consent', 'select_account'];

// Upper bounds on what a request may carry: each value is stored with the pending request.
const MAX_NONCE = 512;
const MAX_LOGIN_HINT = 256;
const MAX_UI_LOCALES = 256;
const MAX_ACR_VALUES = 512;
const MAX_ID_TOKEN_HINT = 8192;

/** A BCP 47 language tag in its common shape (RFC 5646 §2.1); other `ui_locales` entries are ignored. */
const LANGUAGE_TAG = /^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$/;

/** RFC 6749 §3.1: a parameter sent without a value is treated as omitted. */
const given = (params: Readonly<Record<string, string>>, name: string): string | undefined => {
  const value = params[name];
  return value === undefined || value === '' ? undefined : value;
};

const spaceSeparated = (value: string | undefined): string[] => (value === undefined ? [] : value.split(' ').filter((v) => v !== ''));

const tooLong = (name: string, max: number): AuthorizationRefusal => ({ error: 'invalid_request', description: `${name} is longer than ${max} characters` });

/**
 * Core §6.1 and §6.2: request objects, by value or by reference, are not supported, with the
 * errors Core §3.1.2.6 defines for that.
 */
export const rejectRequestObjects: RequestCheck = ({ params }) => {
  if (params.request !== undefined) return { error: 'request_not_supported', description: 'request objects are not supported' };
  if (params.request_uri !== undefined) return { error: 'request_uri_not_supported', description: 'request_uri is not supported' };
  return undefined;
};

/**
 * Core §3.1.2.1 `prompt`: a space-separated set of none, login, consent and select_account;
 * `none` with any other value is an error. Values outside that set are refused too, so a client
 * asking for an interaction Gatehouse does not know is told rather than ignored.
 */
export const requireKnownPrompt: RequestCheck = ({ params }) => {
  const values = spaceSeparated(given(params, 'prompt'));
  if (values.some((v) => !(PROMPTS as readonly string[]).includes(v)))
    return { error: 'invalid_request', description: 'prompt may only hold none, login, consent and select_account' };
  if (values.includes('none') && values.some((v) => v !== 'none'))
    return { error: 'invalid_request', description: 'prompt=none cannot be combined with another value' };
  return undefined;
};

/** Core §3.1.2.1 `max_age`: a non-negative number of seconds. */
export const requireMaxAgeSeconds: RequestCheck = ({ params }) => {
  const value = given(params, 'max_age');
  if (value !== undefined && !/^[0-9]{1,10}$/.test(value))
    return { error: 'invalid_request', description: 'max_age must be a non-negative integer of seconds' };
  return undefined;
};

/** Bounds on the values kept with the pending request: `nonce`, `login_hint`, `ui_locales`, `acr_values`, `id_token_hint`. */
export const boundParameterLengths: RequestCheck = ({ params }) => {
  const bounds: [string, number][] = [
    ['nonce', MAX_NONCE],
    ['login_hint', MAX_LOGIN_HINT],
    ['ui_locales', MAX_UI_LOCALES],
    ['acr_values', MAX_ACR_VALUES],
    ['id_token_hint', MAX_ID_TOKEN_HINT],
  ];
  for (const [name, max] of bounds) if ((params[name]?.length ?? 0) > max) return tooLong(name, max);
  return undefined;
};

/** The checks of an OpenID authentication request, made once its scope is known to include `openid`; the first refusal is sent. */
export const OPENID_CHECKS: readonly RequestCheck[] = [rejectRequestObjects, requireKnownPrompt, requireMaxAgeSeconds, boundParameterLengths];

/**
 * The OpenID parameters of a request that passed `OPENID_CHECKS`. Core §3.1.2.1 `id_token_hint`:
 * an ID Token this environment issued to this client (signature by a published key, `iss` this
 * issuer, `aud` this client; it may have expired); any other value is `invalid_request`.
 */
export async function openIdParameters(
  deps: AuthorizationDeps,
  env: Environment,
  issuer: string,
  { client, params }: RequestUnderCheck,
): Promise<OidcRequestParameters | AuthorizationRefusal> {
  let hintSubject: string | null = null;
  const hint = given(params, 'id_token_hint');
  if (hint !== undefined) {
    const verified = await verifyIdTokenHint(deps.keys, env.id, issuer, hint);
    if (!verified?.aud.includes(client.clientId))
      return { error: 'invalid_request', description: 'id_token_hint is not an ID Token this server issued to this client' };
    hintSubject = verified.sub;
  }
  const maxAge = given(params, 'max_age');
  return {
    nonce: given(params, 'nonce') ?? null,
    prompt: [...new Set(spaceSeparated(given(params, 'prompt')))] as OidcPrompt[],
    maxAge: maxAge === undefined ? null : Number(maxAge),
    hintSubject,
    loginHint: given(params, 'login_hint') ?? null,
    uiLocales: spaceSeparated(given(params, 'ui_locales')).filter((tag) => LANGUAGE_TAG.test(tag)),
    acrValues: spaceSeparated(given(params, 'acr_values')),
  };
}
