import autocannon from 'autocannon';

export interface LoadOptions {
  url: string;
  connections: number;
  durationSeconds: number;
  warmupSeconds: number;
  headers?: Record<string, string>;
  /** A fixed body, or one built per request (for single-use inputs such as assertions). */
  body: string | (() => string);
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
  if (options.warmupSeconds > 0) await run(options, options.warmupSeconds);
  const result = await run(options, options.durationSeconds);
  return {
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

function run(options: LoadOptions, seconds: number): Promise<autocannon.Result> {
  const { body } = options;
  const headers = { 'content-type': 'application/x-www-form-urlencoded', ...options.headers };
  return autocannon({
    url: options.url,
    method: 'POST',
    connections: options.connections,
    duration: seconds,
    headers,
    ...(typeof body === 'string'
      ? { body }
      : {
          requests: [
            {
              setupRequest: (request: autocannon.Request) => ({ ...request, method: 'POST', headers, body: body() }),
            },
          ],
        }),
  });
}
