/** The quota state of one client, for `RateLimit` and `RateLimit-Policy` headers (draft-ietf-httpapi-ratelimit-headers). */
export interface RateLimitState {
  /** Requests allowed per window. */
  limit: number;
  /** Requests left in the current window, as far as this node knows. */
  remaining: number;
  /** Seconds until the window ends. */
  reset: number;
  /** Window length in seconds. */
  window: number;
}
