// The readers of single settings: each validates one value and names the setting in its error.

import { isIP } from 'node:net';
import { ConfigError } from '../domain/config-error.ts';

export function webhookUrl(field: { value: unknown; name: string }): string {
  const value = str(field, '');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(field.name, 'is not a valid URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError(field.name, 'must be an http(s) URL');
  return url.href;
}
export function environmentName(field: { value: unknown; name: string }, fallback: string): string {
  const value = str(field, fallback);
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(value)) throw new ConfigError(field.name, 'must be an environment name: 1-64 letters, digits, "-" or "_"');
  return value;
}
/** `10.0.0.1, 10.1.0.0/16, ::1` (or a JSON array of the same) → a frozen list; each entry checked. */
export function proxyList({ value, name }: { value: unknown; name: string }): readonly string[] {
  if (value === undefined || value === '') return Object.freeze([]);
  const entries = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : undefined;
  if (!entries) throw new ConfigError(name, 'must be a comma-separated list of addresses or CIDR ranges');
  const list = entries.map((entry) => String(entry).trim()).filter((entry) => entry !== '');
  for (const entry of list) {
    const [address = '', prefix, extra] = entry.split('/');
    const family = isIP(address);
    const bits = family === 4 ? 32 : 128;
    const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits);
    if (family === 0 || extra !== undefined || !prefixOk) throw new ConfigError(name, `${JSON.stringify(entry)} is not an IP address or CIDR range`);
  }
  return Object.freeze(list);
}

export function str({ value, name }: { value: unknown; name: string }, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value.trim() === '') throw new ConfigError(name, 'must be a non-empty string');
  return value.trim();
}

export function int({ value, name }: { value: unknown; name: string }, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || !/^\d+$/.test(text.trim())) throw new ConfigError(name, `must be a whole number, got ${JSON.stringify(value)}`);
  const n = Number(text);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

export function optionalInt(field: { value: unknown; name: string }, min: number, max: number): number | undefined {
  return field.value === undefined ? undefined : int(field, min, min, max);
}

export function oneOf<T extends string>({ value, name }: { value: unknown; name: string }, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as T;
}

export function databaseUrl(field: { value: unknown; name: string }, fallback: string): string {
  const value = str(field, fallback);
  if (/^postgres(ql)?:\/\//.test(value)) {
    try {
      new URL(value);
    } catch {
      throw new ConfigError(field.name, 'is not a valid postgres:// URL');
    }
    return value;
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value) && !value.startsWith('sqlite:')) {
    throw new ConfigError(field.name, 'must be a SQLite file path, a sqlite: URL or a postgres:// URL');
  }
  return value;
}

export function publicUrl(field: { value: unknown; name: string }): string | undefined {
  if (field.value === undefined) return undefined;
  const value = str(field, '');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(field.name, `is not a valid URL: ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError(field.name, 'must be an http(s) URL');
  if (url.search || url.hash || /[?#]/.test(value)) throw new ConfigError(field.name, 'must not have a query or fragment');
  if (url.username || url.password) throw new ConfigError(field.name, 'must not hold credentials');
  return url.href.replace(/\/+$/, '');
}

/** Decodes a key secret given as hex or base64url; it must hold at least 32 bytes. */
export function decodeKeySecret(value: string, name: string): Buffer {
  const text = value.trim();
  let bytes: Buffer;
  if (/^[0-9a-fA-F]+$/.test(text) && text.length % 2 === 0) bytes = Buffer.from(text, 'hex');
  else if (/^[A-Za-z0-9_-]+$/.test(text)) bytes = Buffer.from(text, 'base64url');
  else throw new ConfigError(name, 'must be base64url or hex');
  if (bytes.length < 32) throw new ConfigError(name, `must hold at least 32 bytes, got ${bytes.length}`);
  return bytes;
}

export function keySecret(field: { value: unknown; name: string }): Buffer | undefined {
  if (field.value === undefined) return undefined;
  if (typeof field.value !== 'string') throw new ConfigError(field.name, 'must be a string');
  return decodeKeySecret(field.value, field.name);
}
