/** The `fetch` the verifier uses: the global one, or one a test or an HTTP client injects. */
export type FetchFunction = (url: string, init?: RequestInit) => Promise<Response>;
