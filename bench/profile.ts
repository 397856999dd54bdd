import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { basicHeader, presignAssertions, startGatehouse } from './lib/gatehouse.ts';
import { measure } from './lib/load.ts';

/**
 * `npm run bench:profile [-- scenario]`: runs one Gatehouse scenario on SQLite under
 * `node --cpu-prof` and prints where the server's CPU time goes, grouped by function and by
 * package. Scenarios: cc-jwt (default), cc-opaque, introspect-opaque, introspect-jwt, jwt-bearer.
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const scenario = process.argv[2] ?? 'cc-jwt';

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
const dir = join('bench', 'results', 'profile');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const dbDir = join(dir, 'db');
mkdirSync(dbDir);

const g = await startGatehouse({ databaseUrl: join(dbDir, 'bench.db'), port: await freePort(), cpu: '0', nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
try {
  const form = (params: Record<string, string>) => new URLSearchParams(params).toString();
  const tokenOf = async (client: { id: string; secret: string }) => {
    const res = await fetch(g.tokenUrl, {
      method: 'POST',
      headers: { authorization: basicHeader(client), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    return ((await res.json()) as { access_token: string }).access_token;
  };
  const common = { connections: 50, durationSeconds: 10, warmupSeconds: 2 };
  let result: Awaited<ReturnType<typeof measure>>;
  if (scenario === 'cc-jwt' || scenario === 'cc-opaque') {
    const client = scenario === 'cc-jwt' ? g.jwtClient : g.opaqueClient;
    result = await measure({ ...common, url: g.tokenUrl, headers: { authorization: basicHeader(client) }, body: 'grant_type=client_credentials' });
  } else if (scenario === 'introspect-opaque') {
    const token = await tokenOf(g.opaqueClient);
    result = await measure({ ...common, url: g.introspectUrl, headers: { authorization: basicHeader(g.resourceServer) }, body: form({ token }) });
  } else if (scenario === 'introspect-jwt') {
    const token = await tokenOf(g.jwtClient);
    result = await measure({ ...common, url: g.introspectUrl, headers: { authorization: basicHeader(g.resourceServer) }, body: form({ token }) });
  } else if (scenario === 'jwt-bearer') {
    const bodies = await presignAssertions(g, 40_000);
    let i = 0;
    result = await measure({
      ...common,
      url: g.tokenUrl,
      body: () => {
        const body = bodies[i++];
        if (body === undefined) throw new Error('out of assertions');
        return body;
      },
    });
  } else {
    throw new Error(`unknown scenario ${scenario}`);
  }
  process.stdout.write(`${scenario}: ${result.requestsPerSecond.toFixed(0)} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms, non-2xx ${result.non2xx}\n`);
} finally {
  await g.server.stop();
}

const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
if (!file) throw new Error('no .cpuprofile was written');
const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
const selfTime = new Map<number, number>();
profile.samples.forEach((id, i) => {
  selfTime.set(id, (selfTime.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
const total = [...selfTime.values()].reduce((a, b) => a + b, 0);
const byFunction = new Map<string, number>();
const byPackage = new Map<string, number>();
for (const node of profile.nodes) {
  const time = selfTime.get(node.id) ?? 0;
  if (time === 0) continue;
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(src|dist)\//, '$1/');
  byFunction.set(
    `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`,
    (byFunction.get(`${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`) ?? 0) + time,
  );
  const pkg =
    url === ''
      ? `(${functionName})`
      : url.startsWith('node:')
        ? 'node core'
        : url.includes('node_modules/')
          ? (url.split('node_modules/')[1]?.split('/')[0] ?? url)
          : 'gatehouse';
  byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + time);
}
const top = (map: Map<string, number>, n: number) =>
  [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, time]) => `${((100 * time) / total).toFixed(1).padStart(5)}%  ${name}`)
    .join('\n');
process.stdout.write(`\nself time by package:\n${top(byPackage, 15)}\n\nself time by function:\n${top(byFunction, 30)}\n`);
