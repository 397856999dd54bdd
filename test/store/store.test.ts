import { testDatabases } from '../helpers/databases.ts';
import { apiStoreConformance } from './api-conformance.ts';
import { authorizationStoreConformance } from './authorization-conformance.ts';
import { storeConformance } from './conformance.ts';
import { grantReadsConformance } from './grant-reads-conformance.ts';
import { refreshRetryStoreConformance } from './refresh-retry-conformance.ts';
import { signingKeyStoreConformance } from './signing-key-conformance.ts';

for (const database of await testDatabases()) {
  storeConformance(database);
  authorizationStoreConformance(database);
  apiStoreConformance(database);
  signingKeyStoreConformance(database);
  refreshRetryStoreConformance(database);
  grantReadsConformance(database);
}
