import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { firstDuplicateKey, parseBasicAuthorization, parseBodyParams } from '../../src/http/params.ts';
import { OAuthError } from '../../src/oauth/errors.ts';

const FORM = 'application/x-www-form-urlencoded';
const JSON_TYPE = 'application/json';

const parse = (contentType: string | undefined, body: string) => parseBodyParams(contentType, Buffer.from(body, 'utf8'));
/** The parsed parameters as sorted entries (the result has no prototype, which deepEqual would compare). */
const entries = (params: Record<string, string>) => Object.entries(params).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

function assertOAuthError(fn: () => unknown, code: string, extra: { parameter?: string; challenge?: string; status?: number } = {}): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof OAuthError, `expected an OAuthError, got ${String(error)}`);
    assert.equal(error.code, code);
    if ('parameter' in extra) assert.equal(error.parameter, extra.parameter);
    if ('challenge' in extra) assert.equal(error.challenge, extra.challenge);
    if ('status' in extra) assert.equal(error.status, extra.status);
    return true;
  });
}

/** Any code point but lone surrogates, which no encoder can carry. */
// Any text but NUL, which no OAuth parameter may hold (tested on its own below).
const text = fc.string({ unit: 'binary', maxLength: 20 }).filter((value) => !value.includes('\u0000'));
const distinctPairs = <V>(value: fc.Arbitrary<V>) => fc.uniqueArray(fc.tuple(text, value), { selector: ([name]) => name, maxLength: 8 });
const jsonMember = (key: string, value: unknown) => `${JSON.stringify(key)}:${JSON.stringify(value)}`;
/** The same key written with \u escapes for every UTF-16 unit: equal after parsing, different as text. */
const escapedKey = (key: string) => `"${[...Array(key.length).keys()].map((i) => `\\u${key.charCodeAt(i).toString(16).padStart(4, '0')}`).join('')}"`;

describe('parseBodyParams', () => {
  describe('form bodies', () => {
    it('decodes names and values, "+" as space', () => {
      assert.deepEqual(entries(parse(FORM, 'grant_type=client_credentials&scope=read+write&x%20y=%C3%A9%26')), [
        ['grant_type', 'client_credentials'],
        ['scope', 'read write'],
        ['x y', 'é&'],
      ]);
    });

    it('drops empty values (RFC 6749 §3.1)', () => {
      assert.deepEqual(entries(parse(FORM, 'grant_type=client_credentials&scope=&client_secret')), [['grant_type', 'client_credentials']]);
    });

    it('refuses a repeated parameter, even when one value is empty', () => {
      assertOAuthError(() => parse(FORM, 'grant_type=a&scope=x&grant_type=b'), 'invalid_request', { parameter: 'grant_type' });
      assertOAuthError(() => parse(FORM, 'scope=&scope=read'), 'invalid_request', { parameter: 'scope' });
    });

    it('treats __proto__ and constructor as ordinary names', () => {
      const params = parse(FORM, '__proto__=x&constructor=y');
      assert.deepEqual(entries(params), [
        ['__proto__', 'x'],
        ['constructor', 'y'],
      ]);
      assert.equal(({} as Record<string, unknown>).x, undefined);
    });

    it('reads the media type case-insensitively and ignores its parameters', () => {
      assert.deepEqual(entries(parse('Application/X-WWW-Form-URLEncoded ; charset=UTF-8', 'a=1')), [['a', '1']]);
    });
  });

  describe('JSON bodies', () => {
    it('reads an object of strings, null and "" counting as omitted', () => {
      assert.deepEqual(entries(parse(JSON_TYPE, '{"grant_type":"client_credentials","scope":null,"client_id":""}')), [['grant_type', 'client_credentials']]);
    });

    for (const [label, body, parameter] of [
      ['a number', '{"scope":1}', 'scope'],
      ['a boolean', '{"scope":true}', 'scope'],
      ['an array', '{"scope":["read"]}', 'scope'],
      ['an object', '{"scope":{}}', 'scope'],
    ] as const) {
      it(`refuses ${label} as a value`, () => assertOAuthError(() => parse(JSON_TYPE, body), 'invalid_request', { parameter }));
    }

    for (const body of ['[]', '"grant_type"', 'null', '42', '{"a":', "{'a':'b'}", '{"a":"b"} x']) {
      it(`refuses the body ${body}`, () => assertOAuthError(() => parse(JSON_TYPE, body), 'invalid_request'));
    }

    it('refuses a duplicate top-level key, also when spelled with escapes', () => {
      assertOAuthError(() => parse(JSON_TYPE, '{"grant_type":"a","grant_type":"a"}'), 'invalid_request', { parameter: 'grant_type' });
      assertOAuthError(() => parse(JSON_TYPE, '{ "scope" : "a" , "\\u0073cope" : "b" }'), 'invalid_request', { parameter: 'scope' });
    });
  });

  describe('media types and empty bodies', () => {
    it('reads an empty or missing body as no parameters when the type is form, JSON or absent', () => {
      for (const type of [undefined, FORM, JSON_TYPE]) {
        assert.deepEqual(entries(parseBodyParams(type, undefined)), []);
        assert.deepEqual(entries(parseBodyParams(type, Buffer.alloc(0))), []);
      }
    });

    it('refuses other media types and a body without one', () => {
      for (const [type, body] of [
        ['text/plain', 'grant_type=client_credentials'],
        ['text/plain', ''],
        ['multipart/form-data; boundary=x', '--x--'],
        ['application/jsonx', '{}'],
        [undefined, 'grant_type=client_credentials'],
      ] as const) {
        assertOAuthError(() => parse(type, body), 'invalid_request');
      }
    });
  });

  it('refuses a NUL character in any name or value, form or JSON, and in Basic credentials', () => {
    assertOAuthError(() => parse(FORM, 'client_id=%00&grant_type=client_credentials'), 'invalid_request');
    assertOAuthError(() => parse(FORM, 'a%00=1'), 'invalid_request');
    assertOAuthError(() => parse(JSON_TYPE, '{"client_id":"a\\u0000"}'), 'invalid_request');
    assertOAuthError(() => parseBasicAuthorization(`Basic ${Buffer.from('a%00:b').toString('base64')}`), 'invalid_client');
  });

  describe('properties', () => {
    it('round-trips any form body of distinct names, dropping empty values', () => {
      fc.assert(
        fc.property(distinctPairs(text), fc.boolean(), (pairs, viaSearchParams) => {
          const body = viaSearchParams
            ? new URLSearchParams(pairs).toString()
            : pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
          const expected = pairs.filter(([, v]) => v !== '');
          assert.deepEqual(entries(parse(FORM, body)), entries(Object.fromEntries(expected)));
        }),
      );
    });

    it('round-trips any JSON object of distinct names to strings', () => {
      fc.assert(
        fc.property(distinctPairs(text), (pairs) => {
          const body = `{${pairs.map(([k, v]) => jsonMember(k, v)).join(',')}}`;
          assert.deepEqual(entries(parse(JSON_TYPE, body)), entries(Object.fromEntries(pairs.filter(([, v]) => v !== ''))));
        }),
      );
    });

    it('never throws anything but an invalid_request OAuthError, whatever the body', () => {
      const contentType = fc.constantFrom(undefined, FORM, JSON_TYPE, `${JSON_TYPE}; charset=utf-8`, 'text/plain');
      const body = fc.oneof(
        fc.string({ unit: 'binary' }).map((s) => Buffer.from(s, 'utf8')),
        fc.json().map((s) => Buffer.from(s, 'utf8')),
        fc.uint8Array().map((bytes) => Buffer.from(bytes)),
      );
      fc.assert(
        fc.property(contentType, body, (type, bytes) => {
          let params: Record<string, string>;
          try {
            params = parseBodyParams(type, bytes);
          } catch (error) {
            assert.ok(error instanceof OAuthError, `unexpected ${String(error)}`);
            assert.equal(error.code, 'invalid_request');
            return;
          }
          for (const value of Object.values(params)) {
            assert.equal(typeof value, 'string');
            assert.notEqual(value, '');
          }
        }),
      );
    });
  });
});

describe('firstDuplicateKey', () => {
  const whitespace = fc.constantFrom('', ' ', '\n', '\t ');

  it('reports nothing for a JSON object with distinct keys', () => {
    fc.assert(
      fc.property(distinctPairs(fc.jsonValue()), whitespace, (pairs, ws) => {
        const body = `${ws}{${ws}${pairs.map(([k, v]) => `${JSON.stringify(k)}${ws}:${ws}${JSON.stringify(v)}`).join(`${ws},${ws}`)}${ws}}${ws}`;
        assert.equal(firstDuplicateKey(body), undefined);
      }),
    );
  });

  it('reports a key repeated at the top level, however it is escaped', () => {
    const arbitrary = distinctPairs(fc.jsonValue())
      .filter((pairs) => pairs.length > 0)
      .chain((pairs) => fc.tuple(fc.constant(pairs), fc.nat(pairs.length - 1), fc.nat(pairs.length), fc.jsonValue(), fc.boolean()));
    fc.assert(
      fc.property(arbitrary, ([pairs, which, at, value, useEscapes]) => {
        const key = (pairs[which] as [string, unknown])[0];
        const members = pairs.map(([k, v]) => jsonMember(k, v));
        members.splice(at, 0, `${useEscapes ? escapedKey(key) : JSON.stringify(key)}:${JSON.stringify(value)}`);
        const body = `{${members.join(',')}}`;
        assert.equal(firstDuplicateKey(body), key);
        assertOAuthError(() => parse(JSON_TYPE, body), 'invalid_request', { parameter: key });
      }),
    );
  });

  it('does not report keys repeated inside nested objects or arrays', () => {
    const nested = fc.tuple(text, fc.jsonValue(), fc.jsonValue(), fc.boolean()).map(([key, a, b, inArray]) => {
      const object = `{${jsonMember(key, a)},${jsonMember(key, b)}}`;
      return inArray ? `[1,${object},{"x":${object}}]` : `{"inner":${object},"other":{"deeper":${object}}}`;
    });
    fc.assert(
      fc.property(distinctPairs(nested), (pairs) => {
        const body = `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
        assert.doesNotThrow(() => JSON.parse(body));
        assert.equal(firstDuplicateKey(body), undefined);
      }),
    );
  });
});

describe('parseBasicAuthorization', () => {
  const header = (raw: string) => `Basic ${Buffer.from(raw, 'utf8').toString('base64')}`;

  it('returns undefined without a header or with another scheme', () => {
    for (const value of [undefined, 'Bearer abc.def.ghi', 'Digest username="a"', 'Basicabc', 'NotBasic YTpi', '']) {
      assert.equal(parseBasicAuthorization(value), undefined, String(value));
    }
  });

  it('form-url-decodes the id and the secret (RFC 6749 §2.3.1)', () => {
    assert.deepEqual(parseBasicAuthorization(header('my%5Fclient:s%3Ae+cret%2B')), { clientId: 'my_client', clientSecret: 's:e cret+' });
    assert.deepEqual(parseBasicAuthorization(header('id%3Awith%3Acolons:se:cret')), { clientId: 'id:with:colons', clientSecret: 'se:cret' });
    assert.deepEqual(parseBasicAuthorization(header('id:')), { clientId: 'id', clientSecret: '' });
  });

  it('accepts the scheme in any case', () => {
    assert.deepEqual(parseBasicAuthorization(`bAsIc ${Buffer.from('a:b').toString('base64')}`), { clientId: 'a', clientSecret: 'b' });
  });

  it('round-trips any id and secret encoded as RFC 6749 §2.3.1 says', () => {
    fc.assert(
      fc.property(text, text, (clientId, clientSecret) => {
        assert.deepEqual(parseBasicAuthorization(header(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`)), { clientId, clientSecret });
      }),
    );
  });

  it('refuses malformed credentials with invalid_client and a Basic challenge', () => {
    for (const value of ['Basic', 'Basic ', 'Basic @@@@', 'Basic YTpi!', 'Basic YT pi', header('no-colon'), header('a%ZZ:b'), header('a:%E0%A4%A')]) {
      assertOAuthError(() => parseBasicAuthorization(value), 'invalid_client', { challenge: 'Basic', status: 401 });
    }
  });

  it('never throws anything but an invalid_client OAuthError for a Basic header', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), fc.base64String(), text.map(header)), (credentials) => {
        try {
          parseBasicAuthorization(credentials.startsWith('Basic ') ? credentials : `Basic ${credentials}`);
        } catch (error) {
          assert.ok(error instanceof OAuthError, `unexpected ${String(error)}`);
          assert.equal(error.code, 'invalid_client');
          assert.equal(error.challenge, 'Basic');
        }
      }),
    );
  });
});

describe('form bodies without anything to decode', () => {
  /** What URLSearchParams makes of a form body, refusals as their error code. */
  const reference = (body: string): [string, string][] | string => {
    const params: Record<string, string> = {};
    const seen = new Set<string>();
    for (const [name, value] of new URLSearchParams(body)) {
      if (name.includes('\u0000') || value.includes('\u0000') || seen.has(name)) return 'invalid_request';
      seen.add(name);
      if (value !== '') params[name] = value;
    }
    return entries(params);
  };
  const outcome = (body: string): [string, string][] | string => {
    try {
      return entries(parse(FORM, body));
    } catch (error) {
      return error instanceof OAuthError ? error.code : String(error);
    }
  };

  it('are split exactly as URLSearchParams parses them', () => {
    const piece = fc.constantFrom('a', 'b', 'grant_type', '=', '&', '&&', '==', 'é', '\u0000', ' ', '%41', '+', ';');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
        const body = pieces.join('');
        assert.deepEqual(outcome(body), reference(body), JSON.stringify(body));
      }),
      { numRuns: 2000 },
    );
  });
});
