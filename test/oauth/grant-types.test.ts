import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ASSIGNABLE_CLIENT_GRANT_TYPES, GRANT_TYPES } from '../../src/oauth/grants/grant-types.ts';
import { CLIENT_GRANT_TYPES, GRANT_MODULES } from '../../src/oauth/grants/index.ts';

describe('the plain lists of grant types', () => {
  it("are the registry's, in its order: every grant type, and those a client may be given", () => {
    assert.deepEqual(
      GRANT_TYPES,
      GRANT_MODULES.map((m) => m.grantType),
    );
    assert.deepEqual(
      ASSIGNABLE_CLIENT_GRANT_TYPES,
      GRANT_MODULES.filter((m) => m.assignable === 'clients').map((m) => m.grantType),
    );
    assert.deepEqual(ASSIGNABLE_CLIENT_GRANT_TYPES, CLIENT_GRANT_TYPES);
  });
});
