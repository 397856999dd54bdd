import type { FastifyInstance, FastifyRequest, onResponseHookHandler } from 'fastify';
import { OBSERVED_ENV, OBSERVED_ERROR, OBSERVED_GRANT } from './lean-exchange.ts';
import type { RequestObserver } from './request-observer.ts';

export const noop = (): void => {};

/** What a request tells its observer; set as it goes, read once answered. */
interface Observed {
  [OBSERVED_ENV]: string | null;
  [OBSERVED_GRANT]: string | null;
  [OBSERVED_ERROR]: string | null;
}

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'];

export function decorateObserved(app: FastifyInstance): void {
  app.decorateRequest(OBSERVED_ENV, null);
  app.decorateRequest(OBSERVED_GRANT, null);
  app.decorateRequest(OBSERVED_ERROR, null);
}

/** A route's hook reporting each answered request: a callback, no promise or object per request. */
export function reportTo(observer: RequestObserver, endpoint: string, surface: string): onResponseHookHandler {
  return (request, reply, done) => {
    const observed = request as unknown as Observed;
    const outcome = observed[OBSERVED_ERROR] ?? STATUS_CLASSES[Math.floor(reply.statusCode / 100) - 1] ?? 'other';
    observer.observeRequest(endpoint, surface, observed[OBSERVED_ENV] ?? 'unknown', observed[OBSERVED_GRANT] ?? undefined, outcome, reply.elapsedTime / 1000);
    done();
  };
}

/** Records one fact for the observer, if there is one (the decorations exist only then). */
export function note(request: FastifyRequest, key: keyof Observed, value: string | undefined): void {
  if (key in request && value !== undefined) (request as unknown as Observed)[key] = value;
}
