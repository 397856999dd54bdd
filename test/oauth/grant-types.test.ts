import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ASSIGNABLE_CLIENT_GRANT_TYPES } from '../../src/oauth/grants/client-grant-types.ts';
import { CLIENT_GRANT_TYPES, GRANT_MODULES } from '../../src/oauth/grants/index.ts';

describe('the grant types a client may be given', () => {
  it("the plain list the CLI help names is the registry's, in its order", () => {
    assert.deepEqual(ASSIGNABLE_CLIENT_GRANT_TYPES, CLIENT_GRANT_TYPES);
    assert.deepEqual(
      ASSIGNABLE_CLIENT_GRANT_TYPES,
      GRANT_MODULES.filter((m) => m.assignable === 'clients').map((m) => m.grantType),
    );
  });
});
