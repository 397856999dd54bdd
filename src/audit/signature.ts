import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The `webhook-signature` value of the Standard Webhooks spec: `v1,` + base64 HMAC-SHA256 of
 * `id.timestamp.body`, where `timestamp` is in seconds, as sent in `webhook-timestamp`.
 */
export function signWebhook(key: Buffer, id: string, timestamp: number, body: string): string {
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

/** Whether one of the space-separated signatures in `header` signs the message; constant-time per signature. */
export function verifyWebhook(key: Buffer, id: string, timestamp: number, body: string, header: string): boolean {
  const expected = Buffer.from(signWebhook(key, id, timestamp, body));
  return header.split(' ').some((candidate) => {
    const given = Buffer.from(candidate);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
