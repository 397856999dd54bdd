import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * Paths that could carry a credential if anything ever logged them; pino replaces their values.
 * Request bodies and query strings are never logged at all (see `serializeRequest`).
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  '*.client_secret',
  '*.access_token',
  '*.refresh_token',
  '*.token',
  '*.code',
  '*.password',
  '*.assertion',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    serializers: { req: serializeRequest },
  };
  return destination ? pino(options, destination) : pino(options);
}

/** Method, path without its query (it may hold a token) and peer address; no headers, no body. */
export function serializeRequest(req: { method?: string; url?: string; ip?: string; id?: string }) {
  return { id: req.id, method: req.method, path: req.url?.split('?')[0], remoteAddress: req.ip };
}
