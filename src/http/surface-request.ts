import type { FastifyReply, FastifyRequest } from 'fastify';
import { OAuthError } from '../oauth/errors.ts';
import type { BodyEncoding, RenderedResponse } from '../surfaces/profile.ts';
import { ReceivedParams } from '../surfaces/surface.ts';
import { RECEIVED } from './lean-exchange.ts';
import { parseMultipartForm } from './multipart.ts';
import { firstDuplicateKey, mediaTypeOf, type Params, parseBodyAs, parseQueryParams } from './params.ts';

const MEDIA_TYPES: Record<BodyEncoding, string> = {
  form: 'application/x-www-form-urlencoded',
  json: 'application/json',
  multipart: 'multipart/form-data',
};
export const receivedOf = (request: FastifyRequest): ReceivedParams =>
  (request as unknown as Record<typeof RECEIVED, ReceivedParams | null>)[RECEIVED] ?? ReceivedParams.none;

/** RFC 9449 §4.1: the `DPoP` header; repeated ones are joined, which the proof check refuses (§4.3 step 1). */
export const dpopHeader = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value.join(', ') : value);

export const send = (reply: FastifyReply, rendered: RenderedResponse) => reply.status(rendered.status).headers(rendered.headers).send(rendered.body);

/** The error of a surface outside its working hours. */
export const outsideWorkingHours = (retryAfter: number): OAuthError =>
  new OAuthError('temporarily_unavailable', 'the service is outside its working hours; retry later', { retryAfter, reason: 'outside_working_hours' });

/** Parses a body in one of the route's encodings; any other media type is `invalid_request`. */
export function parseBody(
  contentType: string | undefined,
  body: Buffer | undefined,
  encodings: readonly BodyEncoding[],
  repeatable: readonly string[] = [],
): Params {
  const media = mediaTypeOf(contentType);
  if (media === MEDIA_TYPES.multipart && encodings.includes('multipart')) return parseMultipartForm(contentType ?? '', body ?? Buffer.alloc(0));
  if (encodings.some((e) => MEDIA_TYPES[e] === media) || (media === '' && (!body || body.length === 0))) return parseBodyAs(media, body, repeatable);
  throw new OAuthError('invalid_request', `unsupported content type: send ${encodings.map((e) => MEDIA_TYPES[e]).join(' or ')}`);
}

/** The top-level fields of a JSON object body, each sent once; undefined for any other body. */
export function jsonFieldsOf(contentType: string | undefined, body: Buffer | undefined): Readonly<Record<string, unknown>> | undefined {
  if (mediaTypeOf(contentType) !== MEDIA_TYPES.json || !body) return undefined;
  try {
    const text = body.toString('utf8');
    const value: unknown = JSON.parse(text);
    const isObject = typeof value === 'object' && value !== null && !Array.isArray(value);
    return isObject && firstDuplicateKey(text) === undefined ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * RFC 6750 §2.1 and §2.3: the token from `Authorization: Bearer` or the `access_token` query
 * parameter; both at once is invalid_request, none at all is the bare challenge (§3.1). Another
 * scheme (`curl -u` sends Basic) carries no token: §3.1 counts it as lacking authentication.
 */
export function presentedBearerToken(authorization: string | undefined, url: string): string {
  const { params, duplicates } = parseQueryParams(url);
  const bearer = authorization !== undefined && /^Bearer(\s|$)/i.test(authorization) ? authorization : undefined;
  const fromHeader = bearer === undefined ? undefined : /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(bearer)?.[1];
  if (bearer !== undefined && fromHeader === undefined) {
    throw new OAuthError('invalid_request', 'the Authorization header must be "Bearer <token>"', { challenge: 'Bearer', status: 400 });
  }
  if (duplicates.includes('access_token') || (fromHeader !== undefined && params.access_token !== undefined)) {
    throw new OAuthError('invalid_request', 'send the access token once: in the Authorization header or as access_token', { challenge: 'Bearer' });
  }
  const token = fromHeader ?? params.access_token;
  if (token === undefined) throw new OAuthError('invalid_token', 'an access token is required', { challenge: 'Bearer', reason: 'token_missing' });
  return token;
}
