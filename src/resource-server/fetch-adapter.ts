import type { RouteAuthOptions } from './dpop-policy.ts';
import { BearerError, renderBearerError } from './errors.ts';
import { metadataAnswer } from './resource-metadata.ts';
import type { AccessToken, Verifier } from './verifier.ts';

/** Either the verified token, or the RFC 6750 response to send back as is. */
export type FetchAuthResult = { ok: true; token: AccessToken } | { ok: false; error: BearerError; response: Response };

/**
 * For fetch-API frameworks (Hono, Next.js route handlers, Deno-style servers):
 * `const auth = await authenticate(request, ['invoices:read']); if (!auth.ok) return auth.response;`,
 * with `{ dpop: 'required' }` as a third argument for a route's own DPoP mode. The request's body
 * is read (from a clone) only when form body tokens are allowed.
 */
export function createFetchAuth(verifier: Verifier): (request: Request, scopes?: readonly string[], route?: RouteAuthOptions) => Promise<FetchAuthResult> {
  return async (request, scopes = [], route = {}) => {
    const url = new URL(request.url);
    try {
      const token = await verifier.authenticate(
        {
          method: request.method,
          authorization: request.headers.get('authorization') ?? undefined,
          query: url.search.slice(1),
          bodyTokens: verifier.allowBodyToken ? await formBodyTokens(request) : undefined,
          // Headers joins repeated DPoP headers with ", ", which the proof check refuses (RFC 9449 §4.3 check 1).
          dpop: request.headers.get('dpop') ?? undefined,
          url: request.url,
        },
        scopes,
        route,
      );
      return { ok: true, token };
    } catch (error) {
      if (!(error instanceof BearerError)) throw error;
      const answer = renderBearerError(error, verifier.realm, verifier.resourceMetadata?.url);
      return { ok: false, error, response: new Response(answer.body === '' ? null : answer.body, { status: answer.status, headers: answer.headers }) };
    }
  };
}

async function formBodyTokens(request: Request): Promise<string[] | undefined> {
  const type = (request.headers.get('content-type') ?? '').toLowerCase();
  if (!type.startsWith('application/x-www-form-urlencoded') || request.body === null || request.bodyUsed) return undefined;
  return new URLSearchParams(await request.clone().text()).getAll('access_token');
}

/**
 * RFC 9728 §3: answers a request for the verifier's Protected Resource Metadata, or returns
 * undefined for any other request: `return metadata(request) ?? routes(request)`.
 */
export function createResourceMetadataHandler(verifier: Verifier): (request: Request) => Response | undefined {
  return (request) => {
    const answer = metadataAnswer(verifier.resourceMetadata, request.method, new URL(request.url).pathname);
    return answer && new Response(answer.body === '' ? null : answer.body, { status: answer.status, headers: answer.headers });
  };
}
