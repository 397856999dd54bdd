import autocannon from 'autocannon';

export interface LoadOptions {
  url: string;
  connections: number;
  durationSeconds: number;
  warmupSeconds: number;
  headers?: Record<string, string>;
  /** A fixed body, or one built per request (for single-use inputs such as assertions). */
  body: string | (() => string);
  /** Headers built per request, over `headers` (a single-use DPoP proof). */
  perRequestHeaders?: () => Record<string, string>;
  /**
   * The answer every request must get when it is not a 2xx (a device poll's 400
   * `authorization_pending`): such answers count as expected, any other as `non2xx`.
   */
  expect?: { status: number; bodyIncludes: string };
}

export interface LoadResult {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  requests: number;
  errors: number;
  non2xx: number;
}

/** Drives `url` with autocannon: a warm-up whose numbers are discarded, then the measured run. */
export async function measure(options: LoadOptions): Promise<LoadResult> {
  if (options.warmupSeconds > 0) await run(options, options.warmupSeconds, { unexpected: 0 });
  const counted = { unexpected: 0 };
  const result = await run(options, options.durationSeconds, counted);
  return {
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    errors: result.errors + result.timeouts,
    non2xx: options.expect ? counted.unexpected : result.non2xx,
  };
}

function run(options: LoadOptions, seconds: number, counted: { unexpected: number }): Promise<autocannon.Result> {
  const { perRequestHeaders, expect } = options;
  const headers = { 'content-type': 'application/x-www-form-urlencoded', ...options.headers };
  const common = { url: options.url, method: 'POST' as const, connections: options.connections, duration: seconds, headers };
  if (typeof options.body === 'string' && !perRequestHeaders && !expect) return autocannon({ ...common, body: options.body });
  // With `expect`, every answer is read: a 2xx or the expected refusal passes, anything else is counted.
  const onResponse = expect
    ? (status: number, body: string) => {
        const fine = (status >= 200 && status < 300) || (status === expect.status && body.includes(expect.bodyIncludes));
        if (!fine) counted.unexpected += 1;
      }
    : undefined;
  const fixed = options.body;
  const body = typeof fixed === 'string' ? () => fixed : fixed;
  return new Promise((resolve, reject) => {
    // A supplier of single-use bodies that runs dry (it throws) must not crash the load
    // generator from inside a socket callback: the run is stopped, the error is rethrown once
    // it ended, and its figures are discarded. Until autocannon stops (at its next one-second
    // sample), connections send an empty body, which reuses nothing.
    let failure: { error: unknown } | undefined;
    const attempt = <T>(make: () => T, fallback: T): T => {
      if (failure === undefined) {
        try {
          return make();
        } catch (error) {
          failure = { error };
          instance?.stop();
        }
      }
      return fallback;
    };
    const next = (): string => attempt(body, '');
    const nextHeaders = (): Record<string, string> => (perRequestHeaders ? { ...headers, ...attempt(perRequestHeaders, {}) } : headers);
    let instance: autocannon.Instance | undefined;
    instance = autocannon(
      {
        ...common,
        requests: [
          {
            setupRequest: (request: autocannon.Request) => ({ ...request, method: 'POST', headers: nextHeaders(), body: next() }),
            ...(onResponse ? { onResponse } : {}),
          },
        ],
      },
      (error, result) => {
        if (failure !== undefined) reject(failure.error);
        else if (error) reject(error);
        else resolve(result);
      },
    );
    // The first body of every connection is built while autocannon() runs.
    if (failure !== undefined) instance.stop();
  });
}
