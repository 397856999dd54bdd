import { prepareGatehouse } from './lib/gatehouse.ts';

/**
 * `node --import tsx bench/prepare-gatehouse.ts DATABASE_URL PORT`: migrates the database with
 * this source tree's migrations, creates the bench environment, clients, user and service
 * account, and prints one line `PREPARED {json}` (a PreparedGatehouse). `bench --ab` runs it in
 * each tree it compares, so each side's database has that side's own schema.
 */
const [databaseUrl, port] = process.argv.slice(2);
if (databaseUrl === undefined || port === undefined) throw new Error('usage: prepare-gatehouse.ts DATABASE_URL PORT');
const prepared = await prepareGatehouse({ databaseUrl, port: Number(port) });
process.stdout.write(`PREPARED ${JSON.stringify(prepared)}\n`);
