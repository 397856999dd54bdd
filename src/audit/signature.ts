import { createHmac, timingSafeEqual } from 'node:crypto';

/** Webhook signing secrets shorter than this (in bytes) are refused. */
export const MIN_WEBHOOK_SECRET_BYTES = 32;

/**
 * The key of a webhook signing secret: Standard Webhooks style `whsec_` + base64 (the decoded
 * bytes), or else the text itself as UTF-8. Either way at least 32 bytes. Throws a message that
 * never repeats the secret.
 */
export function webhookKey(secret: string): Buffer {
  const key = secret.startsWith('whsec_') ? Buffer.from(secret.slice('whsec_'.length), 'base64') : Buffer.from(secret, 'utf8');
  if (key.length < MIN_WEBHOOK_SECRET_BYTES) {
    throw new Error(`must be whsec_ followed by base64 of at least ${MIN_WEBHOOK_SECRET_BYTES} bytes, or at least ${MIN_WEBHOOK_SECRET_BYTES} characters`);
  }
  return key;
}

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
