import type { Client, Environment } from '../../domain/model.ts';
import type { AuthorizationRefusal } from './response.ts';

// The shapes the checks of an /authorize request share (validate-request.ts, openid-request.ts).

/** Per-surface rules of /authorize. */
export interface AuthorizeOptions {
  /**
   * Lets a confidential client flagged `allowMissingPkce` omit PKCE, for products whose clients
   * never sent a challenge (RightSignature's). A challenge that is sent must still be S256; every
   * other client, and every public client, needs one.
   */
  pkceOptionalForConfidential: boolean;
  /**
   * RFC 9126 §4: the parameters are those of a request the client pushed (and authenticated)
   * at the pushed authorization request endpoint, or are being pushed there now.
   */
  pushed?: boolean;
}

/** The parameters of an /authorize request as the HTTP layer parsed them. */
export interface AuthorizationParams {
  params: Readonly<Record<string, string>>;
  /** Names given more than once. */
  duplicates: readonly string[];
}

/** A request whose client and redirect_uri are known good: from here on, errors go back to the client. */
export interface RequestUnderCheck extends AuthorizationParams {
  env: Environment;
  client: Client;
  /** `state` as sent; null when absent or repeated. */
  rawState: string | null;
  options: AuthorizeOptions;
}

/** One rule an /authorize request must meet once it can be answered by redirect: a refusal, or undefined when met. */
export type RequestCheck = (request: RequestUnderCheck) => AuthorizationRefusal | undefined;
