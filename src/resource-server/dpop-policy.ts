import { DPOP_ALGORITHMS, type DpopAlgorithm, type DpopNonceProvider, type DpopReplayStore, dependency, MemoryReplayStore } from './dpop.ts';
import { checkDpopProof, KeyCache } from './dpop-proof.ts';
import { type AuthScheme, BearerError } from './errors.ts';
import type { BearerRequest, PresentedToken } from './extract.ts';

/**
 * How a resource takes tokens (RFC 9449 §7): `bearer` only (the default; a DPoP-bound token is
 * still refused, §7.2), DPoP `allowed` beside Bearer, or DPoP `required`.
 */
export type DpopMode = 'bearer' | 'allowed' | 'required';

/** The `dpop` option of `createVerifier`: a mode, or a mode and the proof checks' settings. */
export interface DpopOptions {
  /** Default `allowed` when this object is given; routes may override it. */
  mode?: DpopMode;
  /** Proof algorithms accepted (RFC 9449 §4.3 check 5), announced in `algs`. Default: all of `DPOP_ALGORITHMS`. */
  algorithms?: readonly DpopAlgorithm[];
  /** Longest accepted age of a proof (`iat`), in seconds, beside the verifier's `clockSkew`. Default 60. */
  maxProofAge?: number;
  /** Where proof `jti` are recorded (RFC 9449 §11.1). Default: one in-memory store per verifier, see `replayCacheEntries`. Share one across API nodes. */
  replayStore?: DpopReplayStore;
  /** Size of the default in-memory replay store. Default 100,000. */
  replayCacheEntries?: number;
  /** RFC 9449 §9: require a nonce from this provider in every proof (`createDpopNonces`). */
  nonces?: DpopNonceProvider;
  /**
   * The URL prefix clients use to reach this API, e.g. `https://api.example.com` behind a proxy:
   * it replaces the scheme and host the adapter sees when checking `htu` (RFC 9449 §4.3 check 9).
   */
  publicOrigin?: string;
}

/** Per-route settings every adapter takes. */
export interface RouteAuthOptions {
  /** Overrides the verifier's DPoP mode for this route. */
  dpop?: DpopMode;
}

const MODES: readonly DpopMode[] = ['bearer', 'allowed', 'required'];
const DEFAULT_MAX_PROOF_AGE = 60;

/** The DPoP rules of one verifier, applied per request. */
export interface DpopPolicy {
  /** The verifier's mode, for routes that set none. */
  readonly mode: DpopMode;
  /** The proof algorithms accepted. */
  readonly algorithms: readonly DpopAlgorithm[];
  /** The mode of a route: its own, else the verifier's; an unknown one is a programming error (TypeError). */
  modeFor(route: RouteAuthOptions): DpopMode;
  /** Checks how the token was presented and, for DPoP, its proof (RFC 9449 §7). */
  check(request: BearerRequest, presented: PresentedToken, jkt: string | undefined, mode: DpopMode): Promise<void>;
  /** `error` with the challenges of `mode` (RFC 9449 §7.1). */
  challenged(error: BearerError, mode: DpopMode, used: AuthScheme | undefined): Promise<BearerError>;
}

export function createDpopPolicy(option: DpopMode | DpopOptions | undefined, clockSkew: number, now: () => number): DpopPolicy {
  const options: DpopOptions = typeof option === 'string' ? { mode: option } : (option ?? { mode: 'bearer' });
  const fail = (key: string, expected: string): never => {
    throw new TypeError(`createVerifier: dpop.${key} must be ${expected}`);
  };
  const mode = options.mode ?? 'allowed';
  if (!MODES.includes(mode)) fail('mode', `${MODES.join(', ')} or undefined`);
  const algorithms = [...(options.algorithms ?? DPOP_ALGORITHMS)];
  if (algorithms.length === 0 || !algorithms.every((a) => DPOP_ALGORITHMS.includes(a))) fail('algorithms', `a non-empty list of ${DPOP_ALGORITHMS.join(', ')}`);
  const maxAge = options.maxProofAge ?? DEFAULT_MAX_PROOF_AGE;
  if (!Number.isFinite(maxAge) || maxAge <= 0) fail('maxProofAge', 'a number > 0');
  const publicOrigin = options.publicOrigin?.replace(/\/+$/, '');
  if (publicOrigin !== undefined && (!URL.canParse(publicOrigin) || !/^https?:$/.test(new URL(publicOrigin).protocol))) fail('publicOrigin', 'an http(s) URL');
  if (options.nonces && (typeof options.nonces.current !== 'function' || typeof options.nonces.accepts !== 'function')) fail('nonces', '{ current, accepts }');
  const replay = options.replayStore ?? new MemoryReplayStore(options.replayCacheEntries ?? 100_000, now);
  const rules = Object.freeze({ algorithms, maxAge, clockSkew, replay, nonces: options.nonces, now, keys: new KeyCache() });

  const targetOf = (request: BearerRequest): string => {
    if (request.url === undefined) throw new TypeError('the adapter gave no request URL: DPoP proofs cannot be checked');
    if (publicOrigin === undefined) return request.url;
    const url = new URL(request.url);
    return `${publicOrigin}${url.pathname}`;
  };

  return Object.freeze({
    mode,
    algorithms: Object.freeze(algorithms),
    modeFor(route: RouteAuthOptions) {
      const routeMode = route.dpop ?? mode;
      if (!MODES.includes(routeMode)) throw new TypeError(`a route's dpop must be ${MODES.join(', ')} or undefined`);
      return routeMode;
    },
    async check(request: BearerRequest, presented: PresentedToken, jkt: string | undefined, routeMode: DpopMode) {
      if (presented.scheme === 'Bearer') {
        if (routeMode === 'required') throw new BearerError('invalid_token', 'this resource accepts DPoP-bound tokens only (Authorization: DPoP)');
        // RFC 9449 §7.2: a DPoP-bound token is never accepted as a bearer token, whatever the mode.
        if (jkt !== undefined) throw new BearerError('invalid_token', 'the token is bound to a DPoP key: present it with the DPoP scheme and a proof');
        return;
      }
      // RFC 9449 §7.1: the DPoP scheme is for tokens bound to a key.
      if (jkt === undefined) throw new BearerError('invalid_token', 'the token is not bound to a DPoP key');
      await checkDpopProof({ proof: request.dpop, method: request.method, url: targetOf(request), accessToken: presented.token, jkt }, rules);
    },
    async challenged(error: BearerError, routeMode: DpopMode, used: AuthScheme | undefined): Promise<BearerError> {
      if (routeMode === 'bearer') return error;
      const schemes: AuthScheme[] = routeMode === 'required' ? ['DPoP'] : ['Bearer', 'DPoP'];
      // RFC 9449 §9: a fresh nonce with every refusal, so the client's next proof can carry it.
      const nonce = rules.nonces && error.status === 401 ? await dependency(() => rules.nonces?.current()) : undefined;
      return error.withChallenges({ schemes, used, algs: algorithms, nonce });
    },
  });
}
