import { testDatabases } from '../helpers/databases.ts';
import { storeConformance } from './conformance.ts';

for (const database of await testDatabases()) storeConformance(database);
