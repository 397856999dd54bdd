import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { renderErrorPage } from '../../../pages/authorization-pages.ts';
import { toOAuthError } from '../../error-mapping.ts';

/** Sends an HTML error page. */
export function sendErrorPage(reply: FastifyReply, status: number, message: string, title = 'Something went wrong'): FastifyReply {
  return reply.status(status).send(renderErrorPage({ title, message }));
}

/**
 * The error handler of the flow's pages: every failure is an HTML page. An unavailable database
 * is a 503 with Retry-After; anything unexpected is a 500 naming only a logged reference.
 */
export function pageErrorHandler(bodyLimit: number) {
  return async (thrown: Error, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const { error, unexpected } = toOAuthError(thrown, bodyLimit);
    if (!unexpected) {
      if (error.code === 'temporarily_unavailable') {
        request.log.warn({ reason: thrown.message }, error.description);
        if (error.retryAfter !== undefined) reply.header('retry-after', String(error.retryAfter));
        return sendErrorPage(reply, 503, 'The service is temporarily unavailable. Try again in a few seconds.', 'Temporarily unavailable');
      }
      if (error.code === 'not_found') return sendErrorPage(reply, 404, 'There is nothing at this address.', 'Not found');
      if (error.status === 413) return sendErrorPage(reply, 413, 'The form was too large.');
      return sendErrorPage(reply, error.status >= 400 && error.status < 500 ? error.status : 400, `The request could not be understood: ${error.description}`);
    }
    const errorId = randomUUID();
    request.log.error({ err: thrown, errorId }, 'unexpected error');
    return sendErrorPage(reply, 500, `The server could not complete the request. Reference: ${errorId}`);
  };
}
