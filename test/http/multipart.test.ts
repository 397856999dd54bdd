import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { parseMultipartForm } from '../../src/http/multipart.ts';
import { OAuthError } from '../../src/oauth/errors.ts';

/** What curl 7/8 writes: 24 dashes and 16 hex digits. */
const CURL_BOUNDARY = '------------------------d74496d66958873e';
const CURL_TYPE = `multipart/form-data; boundary=${CURL_BOUNDARY}`;
const CURL = '/usr/bin/curl';

/** One part as curl -F writes it: a Content-Disposition line, the empty line, the value, CRLF. */
const curlPart = (boundary: string, name: string, value: string): string =>
  `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;

/** A whole body the way curl writes it, close delimiter and trailing CRLF included. */
const curlBody = (fields: Array<[string, string]>, boundary = CURL_BOUNDARY): Buffer =>
  Buffer.from(`${fields.map(([name, value]) => curlPart(boundary, name, value)).join('')}--${boundary}--\r\n`, 'utf8');

const parse = (body: string | Buffer, contentType = CURL_TYPE) => parseMultipartForm(contentType, typeof body === 'string' ? Buffer.from(body, 'utf8') : body);

/** The parsed parameters as sorted entries (the result has no prototype, which deepEqual would compare). */
const entries = (params: Record<string, string>) => Object.entries(params).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

function assertOAuthError(fn: () => unknown, code: string, extra: { parameter?: string; description?: RegExp } = {}): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof OAuthError, `expected an OAuthError, got ${String(error)}`);
    assert.equal(error.code, code);
    if ('parameter' in extra) assert.equal(error.parameter, extra.parameter);
    if (extra.description) assert.match(error.description, extra.description);
    return true;
  });
}

/** Sends `curl -F` fields to a local server and returns the raw request curl really made. */
async function captureCurl(args: string[]): Promise<{ contentType: string; body: Buffer }> {
  let captured: { contentType: string; body: Buffer } | undefined;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      captured = { contentType: req.headers['content-type'] ?? '', body: Buffer.concat(chunks) };
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    await promisify(execFile)(CURL, ['-s', ...args, '-X', 'POST', `http://127.0.0.1:${port}/`], { timeout: 10_000 });
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  assert.ok(captured, 'the server received no request');
  return captured;
}

describe('parseMultipartForm', () => {
  describe('what curl -F sends', () => {
    it('parses a token request built the way curl 7/8 builds it', () => {
      const body = curlBody([
        ['grant_type', 'authorization_code'],
        ['client_id', 'CLIENT_ID'],
        ['code', 'SplxlOBeZQQYbYS6WxSbIA'],
        ['redirect_uri', 'https://client.example.com/cb'],
      ]);
      const params = parseMultipartForm(CURL_TYPE, body);
      assert.equal(Object.getPrototypeOf(params), null);
      assert.deepEqual(entries(params), [
        ['client_id', 'CLIENT_ID'],
        ['code', 'SplxlOBeZQQYbYS6WxSbIA'],
        ['grant_type', 'authorization_code'],
        ['redirect_uri', 'https://client.example.com/cb'],
      ]);
    });

    it('parses what the installed curl really sends', { skip: existsSync(CURL) ? false : `${CURL} is not installed` }, async () => {
      const { contentType, body } = await captureCurl(['-F', 'a=1', '-F', 'b=two']);
      assert.match(contentType, /^multipart\/form-data; boundary=/);
      assert.deepEqual(entries(parseMultipartForm(contentType, body)), [
        ['a', '1'],
        ['b', 'two'],
      ]);
    });
  });

  describe('framing', () => {
    it('accepts a quoted boundary, any case of the parameter name, and bchars that need quoting', () => {
      const boundary = "simple boundary'()+_,-./:=?";
      const body = curlBody([['scope', 'read']], boundary);
      assert.deepEqual(entries(parse(body, `multipart/form-data; BOUNDARY="${boundary}"`)), [['scope', 'read']]);
      assert.deepEqual(entries(parse(curlBody([['scope', 'read']], 'xyz'), 'Multipart/Form-Data ;charset=utf-8; Boundary=xyz')), [['scope', 'read']]);
    });

    it('ignores the preamble and the epilogue', () => {
      const epilogue = 'This is the epilogue.\r\n--xyz\r\nContent-Disposition: form-data; name="b"\r\n\r\n2\r\n';
      const body = `This is the preamble.\r\n--xy\r\n${curlBody([['a', '1']], 'xyz').toString()}${epilogue}`;
      assert.deepEqual(entries(parse(body, 'multipart/form-data; boundary=xyz')), [['a', '1']]);
    });

    it('accepts transport padding after a delimiter and a close delimiter at the very end', () => {
      const body = '--xyz \t\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--xyz--';
      assert.deepEqual(entries(parse(body, 'multipart/form-data; boundary=xyz')), [['a', '1']]);
    });

    it('keeps unicode values, CRLF inside values and boundary-like text that is no delimiter', () => {
      const tricky = `line one\r\nline two\r\n--${CURL_BOUNDARY.slice(0, -1)}X\r\nnot--${CURL_BOUNDARY}\r\n\r\n`;
      const params = parse(
        curlBody([
          ['name', 'Zoë 日本語 🎉'],
          ['tricky', tricky],
          ['bom', '\uFEFFkept'],
        ]),
      );
      assert.deepEqual(entries(params), [
        ['bom', '\uFEFFkept'],
        ['name', 'Zoë 日本語 🎉'],
        ['tricky', tricky],
      ]);
    });

    it('treats an empty value as omitted', () => {
      assert.deepEqual(
        entries(
          parse(
            curlBody([
              ['scope', ''],
              ['a', '1'],
            ]),
          ),
        ),
        [['a', '1']],
      );
    });

    it('reads text/plain parts, unescapes quoted names and ignores other headers', () => {
      const body =
        `--xyz\r\ncontent-type: text/plain; charset="UTF-8"\r\nX-Other: whatever\r\ncontent-disposition: FORM-DATA; name="a\\"b\\\\c"\r\n\r\n1\r\n` +
        `--xyz\r\nContent-Disposition: form-data; name=token_only\r\nContent-Type: TEXT/PLAIN; charset=us-ascii\r\n\r\n2\r\n` +
        `--xyz\r\nContent-Disposition: form-data; name="__proto__"\r\n\r\n3\r\n--xyz--\r\n`;
      const params = parse(body, 'multipart/form-data; boundary=xyz');
      assert.deepEqual(entries(params), [
        ['__proto__', '3'],
        ['a"b\\c', '1'],
        ['token_only', '2'],
      ]);
    });

    it('reads an empty form as no parameters', () => {
      assert.deepEqual(entries(parse('--xyz--\r\n', 'multipart/form-data; boundary=xyz')), []);
    });
  });

  describe('refusals', () => {
    it('needs multipart/form-data with a valid boundary', () => {
      const needsBoundary = { description: /needs a boundary/ };
      const body = curlBody([['a', '1']]);
      assertOAuthError(() => parse(body, 'multipart/form-data'), 'invalid_request', needsBoundary);
      assertOAuthError(() => parse(body, 'multipart/form-data; boundary='), 'invalid_request', needsBoundary);
      assertOAuthError(() => parse(body, 'multipart/form-data; boundary=""'), 'invalid_request', needsBoundary);
      assertOAuthError(() => parse(body, 'multipart/form-data; boundary'), 'invalid_request', needsBoundary);
      assertOAuthError(() => parse(body, 'multipart/form-data; boundary="ends with space "'), 'invalid_request', needsBoundary);
      assertOAuthError(() => parse(body, `multipart/form-data; boundary=${'a'.repeat(71)}`), 'invalid_request', needsBoundary);
      assertOAuthError(() => parse(body, 'multipart/form-data; boundary="unterminated'), 'invalid_request', needsBoundary);
      assertOAuthError(() => parse(body, 'multipart/mixed; boundary=xyz'), 'invalid_request');
      assertOAuthError(() => parse(body, 'application/x-www-form-urlencoded'), 'invalid_request');
      const longest = 'b'.repeat(70);
      assert.deepEqual(entries(parse(curlBody([['a', '1']], longest), `multipart/form-data; boundary=${longest}`)), [['a', '1']]);
    });

    it('refuses a body that never reaches the close delimiter', () => {
      const malformed = { description: /malformed/ };
      const full = curlBody([['a', '1']]).toString();
      assertOAuthError(() => parse(full.slice(0, full.indexOf(`--${CURL_BOUNDARY}--`))), 'invalid_request', malformed);
      assertOAuthError(() => parse(full.slice(0, 40)), 'invalid_request', malformed);
      assertOAuthError(() => parse(''), 'invalid_request', malformed);
      assertOAuthError(() => parse('a=1&b=2'), 'invalid_request', malformed);
    });

    it('refuses other framing errors', () => {
      const type = 'multipart/form-data; boundary=xyz';
      const malformed = { description: /malformed/ };
      // A line that starts with the delimiter but goes on is no delimiter and no content either (RFC 2046 §5.1.1).
      assertOAuthError(() => parse('--xyzz\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--xyz--', type), 'invalid_request', malformed);
      assertOAuthError(() => parse('--xyz\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--xyz-- junk', type), 'invalid_request', malformed);
      assertOAuthError(() => parse('--xyz\r\nContent-Disposition: form-data; name="a"\r\n1\r\n--xyz--', type), 'invalid_request', malformed);
      assertOAuthError(() => parse('--xyz\nContent-Disposition: form-data; name="a"\n\n1\n--xyz--\n', type), 'invalid_request', malformed);
      assertOAuthError(() => parse('--xyz\r\nContent-Disposition: form-data;\r\n name="a"\r\n\r\n1\r\n--xyz--', type), 'invalid_request', malformed);
      const twice = '--xyz\r\nContent-Disposition: form-data; name="a"\r\nContent-Disposition: form-data; name="b"\r\n\r\n1\r\n--xyz--';
      assertOAuthError(() => parse(twice, type), 'invalid_request', malformed);
    });

    it('refuses a part without a form-data Content-Disposition and a name', () => {
      const type = 'multipart/form-data; boundary=xyz';
      for (const headers of ['', 'Content-Type: text/plain\r\n', 'Content-Disposition: attachment; name="a"\r\n', 'Content-Disposition: form-data\r\n']) {
        assertOAuthError(() => parse(`--xyz\r\n${headers}\r\n1\r\n--xyz--\r\n`, type), 'invalid_request', { description: /Content-Disposition/ });
      }
    });

    it('refuses file uploads, naming the field', () => {
      const body = `${curlPart(CURL_BOUNDARY, 'a', '1')}--${CURL_BOUNDARY}\r\nContent-Disposition: form-data; name="key"; filename="key.pem"\r\nContent-Type: application/octet-stream\r\n\r\n-----BEGIN\r\n--${CURL_BOUNDARY}--\r\n`;
      assertOAuthError(() => parse(body), 'invalid_request', { parameter: 'key', description: /file uploads are not accepted/ });
      const star = `--${CURL_BOUNDARY}\r\nContent-Disposition: form-data; name="key"; filename*=UTF-8''k.pem\r\n\r\nx\r\n--${CURL_BOUNDARY}--\r\n`;
      assertOAuthError(() => parse(star), 'invalid_request', { parameter: 'key' });
    });

    it('refuses parts that are not UTF-8 text', () => {
      for (const type of ['application/json', 'text/html', 'text/plain; charset=iso-8859-1', 'text/plain; charset=utf-16', 'not a type']) {
        const body = `--${CURL_BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\nContent-Type: ${type}\r\n\r\n1\r\n--${CURL_BOUNDARY}--\r\n`;
        const extra = type === 'not a type' ? {} : { parameter: 'a' };
        assertOAuthError(() => parse(body), 'invalid_request', extra);
      }
    });

    it('refuses a repeated name, even with an empty value', () => {
      for (const second of ['2', '']) {
        const body = curlBody([
          ['scope', 'read'],
          ['scope', second],
        ]);
        assertOAuthError(() => parse(body), 'invalid_request', { parameter: 'scope', description: /parameter scope was sent more than once/ });
      }
    });

    it('refuses NUL characters in names and values', () => {
      const nul = { description: /^parameters must not contain NUL characters$/ };
      assertOAuthError(() => parse(curlBody([['a', 'x\u0000y']])), 'invalid_request', { parameter: 'a', ...nul });
      assertOAuthError(() => parse(curlBody([['a\u0000b', 'x']])), 'invalid_request', { parameter: 'body', ...nul });
    });

    it('refuses invalid UTF-8 in values and headers', () => {
      const [head, tail] = [`--${CURL_BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\n\r\n`, `\r\n--${CURL_BOUNDARY}--\r\n`];
      for (const bad of [[0xff], [0xc3], [0xed, 0xa0, 0x80], [0xc0, 0xaf]]) {
        const body = Buffer.concat([Buffer.from(head), Buffer.from(bad), Buffer.from(tail)]);
        assertOAuthError(() => parse(body), 'invalid_request', { parameter: 'a', description: /not valid UTF-8/ });
      }
      const badName = Buffer.concat([
        Buffer.from(`--${CURL_BOUNDARY}\r\nContent-Disposition: form-data; name="`),
        Buffer.from([0xff]),
        Buffer.from(`"\r\n\r\n1${tail}`),
      ]);
      assertOAuthError(() => parse(badName), 'invalid_request', { description: /not valid UTF-8/ });
    });

    it('accepts 64 parts and refuses 65', () => {
      const fields = (count: number) => Array.from({ length: count }, (_, i): [string, string] => [`p${i}`, `${i}`]);
      assert.equal(Object.keys(parse(curlBody(fields(64)))).length, 64);
      assertOAuthError(() => parse(curlBody(fields(65))), 'invalid_request', { description: /too many parts/ });
    });

    it('stays fast on hostile 16 KiB bodies', () => {
      const b = 'a'.repeat(70);
      const close = `\r\n--${b}--\r\n`;
      const hostile = [
        `\r\n--${'a'.repeat(69)}`.repeat(220),
        `--${b}\r\n${'X: '.repeat(5000)}\r\n\r\n1${close}`,
        `--${b}\r\n${'X: 1\r\n'.repeat(2500)}\r\n1${close}`,
        `--${b}\r\nContent-Disposition: form-data; name="${'\\"'.repeat(8000)}"\r\n\r\n1${close}`,
        `--${b}\r\nContent-Disposition: form-data; name="a"${Array.from({ length: 1500 }, (_, i) => `; x${i}=y`).join('')}\r\n\r\n1${close}`,
        `--${b}\r\nContent-Disposition: form-data; name="a"\r\n\r\n${'\r\n-'.repeat(5000)}${close}`,
        `${`--${b}\r\n\r\n`.repeat(210)}${close}`,
      ];
      for (const body of hostile) {
        const started = performance.now();
        try {
          parse(body, `multipart/form-data; boundary=${b}`);
        } catch (error) {
          if (!(error instanceof OAuthError)) throw error;
        }
        assert.ok(performance.now() - started < 500, 'parsing took too long');
      }
    });
  });

  describe('properties', () => {
    // RFC 2046 §5.1.1 bchars.
    const bchars = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=? ".split('');
    const boundary = fc.string({ unit: fc.constantFrom(...bchars), minLength: 1, maxLength: 70 }).filter((b) => !b.endsWith(' '));
    // Any code point but NUL, often the characters that make up framing.
    const value = fc
      .oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ unit: fc.constantFrom('\r', '\n', '-', '"', ' ', 'a', '\\'), maxLength: 40 }))
      .filter((v) => !v.includes('\u0000'));
    const fields = fc.uniqueArray(fc.tuple(fc.stringMatching(/^[a-z_]{1,12}$/), value), { selector: ([name]) => name, maxLength: 10 });

    it('parses back what it is given, minus empty values', () => {
      const cases = fc.tuple(fields, boundary, fc.boolean()).filter(([pairs, b]) => pairs.every(([, v]) => !v.includes(b)));
      fc.assert(
        fc.property(cases, ([pairs, b, quote]) => {
          const needsQuotes = /[^0-9A-Za-z'+_\-.]/.test(b);
          const type = `multipart/form-data; boundary=${quote || needsQuotes ? `"${b}"` : b}`;
          const expected = pairs.filter(([, v]) => v !== '').sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
          assert.deepEqual(entries(parseMultipartForm(type, curlBody(pairs, b))), expected);
        }),
        { numRuns: 300 },
      );
    });

    it('throws nothing but an OAuthError on arbitrary bytes', () => {
      const fixed = 'xyz';
      // Random bytes, and random sequences of the pieces a parser trips over.
      const pieces = [`--${fixed}`, `\r\n--${fixed}`, '--', '\r\n', '\r', '\n', ' ', '\r\n\r\n', 'Content-Disposition: form-data; name="a"', '; filename="f"'];
      const fragments = [...pieces, 'Content-Type: text/plain', 'name=', '"', '\\', ':', ';', '\u0000', 'é', 'x'].map((s) => Buffer.from(s, 'utf8'));
      const bodies = fc.oneof(
        fc.uint8Array({ maxLength: 2048 }).map((bytes) => Buffer.from(bytes)),
        fc
          .array(
            fc.oneof(
              fc.constantFrom(...fragments),
              fc.uint8Array({ maxLength: 4 }).map((b) => Buffer.from(b)),
            ),
            { maxLength: 80 },
          )
          .map((parts) => Buffer.concat(parts)),
      );
      fc.assert(
        fc.property(bodies, (body) => {
          try {
            const params = parseMultipartForm(`multipart/form-data; boundary=${fixed}`, body);
            for (const v of Object.values(params)) assert.equal(typeof v, 'string');
          } catch (error) {
            if (!(error instanceof OAuthError)) throw error;
            assert.equal(error.code, 'invalid_request');
          }
        }),
        { numRuns: 300 },
      );
    });
  });
});
