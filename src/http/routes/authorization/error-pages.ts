import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { MessageKey } from '../../../i18n/catalogue.ts';
import { type PageMessage, renderErrorPage } from '../../../pages/authorization-pages.ts';
import { toOAuthError } from '../../error-mapping.ts';
import { pageContextOfRequest } from '../page-context.ts';

/**
 * Sends an HTML error page in the language and brand of the request's page. `detail` is text from
 * the protocol layer, which speaks English only: it is shown as a marked English detail.
 */
export function sendErrorPage(reply: FastifyReply, status: number, message: MessageKey | PageMessage, title?: MessageKey, detail?: string): FastifyReply {
  const page = pageContextOfRequest(reply.request);
  const text = typeof message === 'string' ? { key: message } : message;
  return reply
    .status(status)
    .send(renderErrorPage({ page, message: text, ...(title === undefined ? {} : { title }), ...(detail === undefined ? {} : { detail }) }));
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
        return sendErrorPage(reply, 503, 'error.unavailable', 'error.unavailableTitle');
      }
      if (error.code === 'not_found') return sendErrorPage(reply, 404, 'error.notFound', 'error.notFoundTitle');
      if (error.status === 413) return sendErrorPage(reply, 413, 'error.tooLarge');
      return sendErrorPage(reply, error.status >= 400 && error.status < 500 ? error.status : 400, 'error.badRequest', undefined, error.description);
    }
    const errorId = randomUUID();
    request.log.error({ err: thrown, errorId }, 'unexpected error');
    return sendErrorPage(reply, 500, { key: 'error.unexpected', params: { reference: errorId } });
  };
}
