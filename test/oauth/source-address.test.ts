import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { throttleSource } from '../../src/oauth/source-address.ts';

describe('throttleSource', () => {
  it('keeps IPv4 addresses and unwraps IPv4-mapped IPv6', () => {
    assert.equal(throttleSource('203.0.113.7'), '203.0.113.7');
    assert.equal(throttleSource('::ffff:203.0.113.7'), '203.0.113.7');
  });

  it('counts IPv6 addresses per /64, whatever their spelling', () => {
    const key = throttleSource('2001:db8:1:2:aaaa:bbbb:cccc:dddd');
    assert.equal(key, '2001:db8:1:2::/64');
    assert.equal(throttleSource('2001:0db8:0001:0002::1'), key);
    assert.equal(throttleSource('2001:DB8:1:2:ffff::'), key);
    assert.notEqual(throttleSource('2001:db8:1:3::1'), key);
    assert.equal(throttleSource('::1'), '0:0:0:0::/64');
    assert.equal(throttleSource('fe80::1%eth0'), 'fe80:0:0:0::/64');
  });

  it('passes anything else through unchanged', () => {
    assert.equal(throttleSource('unknown'), 'unknown');
  });
});
