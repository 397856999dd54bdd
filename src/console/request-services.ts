import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ConsoleServices } from './deps.ts';
import type { PageContext } from './pages.ts';

/** The services each signed-in request acts with, set by the page and action wrappers. */
export const SERVICES = new WeakMap<FastifyRequest, ConsoleServices>();

export function services(request: FastifyRequest): ConsoleServices {
  const found = SERVICES.get(request);
  if (!found) throw new Error('console services are set for signed-in requests only');
  return found;
}

export type Query = Record<string, string | undefined>;
export type Params = Record<string, string>;
export type Req = FastifyRequest<{ Params: Params; Querystring: Query; Body: URLSearchParams }>;
export type ConsoleRequest = Req;

export type PageWrap = (
  handler: (request: Req, reply: FastifyReply, ctx: PageContext) => Promise<FastifyReply | string>,
) => (request: Req, reply: FastifyReply) => Promise<FastifyReply>;
export type ActionWrap = (
  handler: (request: Req, reply: FastifyReply, ctx: PageContext, form: URLSearchParams) => Promise<FastifyReply>,
) => (request: Req, reply: FastifyReply) => Promise<FastifyReply | undefined>;
