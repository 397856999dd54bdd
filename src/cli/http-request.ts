/**
 * One HTTP request over node:http(s), for the admin API client: on Node 20 the first `fetch` of a
 * process compiles its implementation (undici), about 0.1 s of CPU, more than a CLI command
 * against a running node otherwise spends starting. Like the `fetch` it replaces, it follows no
 * redirect: a redirected request is refused, so the bearer token goes nowhere else.
 */

import type { IncomingMessage } from 'node:http';
import { request as httpRequest, type RequestOptions } from 'node:http';

/** An answer, read whole. */
export interface HttpAnswer {
  status: number;
  /** 2xx */
  ok: boolean;
  header(name: string): string | undefined;
  text: string;
}

export interface HttpCall {
  method: string;
  headers: Record<string, string>;
  body?: string | undefined;
  timeoutMs: number;
}

/** No answer to use: the connection failed (`reason` is its code, ECONNREFUSED…), timed out, or was redirected. */
export class NoAnswerError extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

// RFC 9110 §15.4: the redirections `fetch` follows, and with `redirect: 'error'` refuses.
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export async function sendRequest(url: string, call: HttpCall): Promise<HttpAnswer> {
  const target = new URL(url);
  const request = target.protocol === 'https:' ? (await import('node:https')).request : httpRequest;
  const body = call.body === undefined ? undefined : Buffer.from(call.body);
  const headers = body === undefined ? call.headers : { ...call.headers, 'content-length': String(body.length) };
  const options: RequestOptions = { method: call.method, headers, signal: AbortSignal.timeout(call.timeoutMs) };
  const response = await new Promise<{ message: IncomingMessage; text: string }>((resolve, reject) => {
    const sent = request(target, options, (message) => {
      const chunks: Buffer[] = [];
      message.on('data', (chunk: Buffer) => chunks.push(chunk));
      message.on('end', () => resolve({ message, text: Buffer.concat(chunks).toString('utf8') }));
      message.on('error', (error) => reject(noAnswer(error, call.timeoutMs)));
    });
    sent.on('error', (error) => reject(noAnswer(error, call.timeoutMs)));
    sent.end(body);
  });
  const status = response.message.statusCode ?? 0;
  if (REDIRECTS.has(status)) throw new NoAnswerError(`redirected (HTTP ${status}), which is refused`);
  const answerHeaders = response.message.headers;
  return {
    status,
    ok: status >= 200 && status < 300,
    header: (name) => {
      const value = answerHeaders[name.toLowerCase()];
      return Array.isArray(value) ? value.join(', ') : value;
    },
    text: response.text,
  };
}

function noAnswer(error: Error & { code?: string }, timeoutMs: number): NoAnswerError {
  if (error.name === 'AbortError') return new NoAnswerError(`no answer within ${timeoutMs / 1000} s`);
  return new NoAnswerError(error.code ?? error.message);
}
