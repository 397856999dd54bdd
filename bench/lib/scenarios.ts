import { basicHeader, type GatehouseTarget, mintToken, presignAssertions } from './gatehouse.ts';
import type { LoadOptions } from './load.ts';
import { mintAuthorizationCodes, mintRefreshTokens } from './single-use.ts';

/**
 * The hot scenarios shared by `bench:profile` and `bench --ab`: what one request of each sends
 * to a running Gatehouse. The full bench (bench/run.ts) measures the same requests.
 */
export const HOT_SCENARIOS = {
  'cc-jwt': 'client_credentials → JWT',
  'cc-opaque': 'client_credentials → opaque',
  'introspect-opaque': 'introspection, opaque',
  'introspect-jwt': 'introspection, JWT',
  'jwt-bearer': 'jwt-bearer',
  'code-redemption': 'authorization_code redemption',
  'refresh-rotation': 'refresh_token rotation',
} as const;

export type HotScenario = keyof typeof HOT_SCENARIOS;

export const isHotScenario = (name: string): name is HotScenario => Object.hasOwn(HOT_SCENARIOS, name);

/** Parses a comma-separated list of scenario names (all of them when absent). */
export function hotScenarios(list: string | undefined): HotScenario[] {
  if (list === undefined || list === 'all') return Object.keys(HOT_SCENARIOS) as HotScenario[];
  const names = list.split(',');
  const unknown = names.filter((name) => !isHotScenario(name));
  if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.join(', ')}; known: ${Object.keys(HOT_SCENARIOS).join(', ')}`);
  return names as HotScenario[];
}

/** A load of one scenario, without its timing and concurrency. */
export type ScenarioLoad = Pick<LoadOptions, 'url' | 'headers' | 'body'>;

/** A cycling supplier of pre-minted values; single-use values are drawn without repetition. */
export function cycle(values: string[], singleUse = false, what = 'scenario'): () => string {
  let i = 0;
  return () => {
    if (singleUse && i >= values.length) throw new Error(`${what}: ran out of the ${values.length} pre-minted single-use values; raise the count`);
    const value = values[i % values.length] as string;
    i += 1;
    return value;
  };
}

const form = (params: Record<string, string>) => new URLSearchParams(params).toString();
const CLIENT_CREDENTIALS = 'grant_type=client_credentials';

/**
 * The load of `scenario` against `target`. Single-use scenarios (jwt-bearer, code redemption,
 * refresh rotation) get `singleUse` fresh values, minted now: at least as many as the load will
 * send, since a reused one is a correct 400.
 */
export async function scenarioLoad(target: GatehouseTarget, scenario: HotScenario, singleUse: number): Promise<ScenarioLoad> {
  const auth = (client: { id: string; secret: string }) => ({ authorization: basicHeader(client) });
  const introspect = async (client: { id: string; secret: string }) => ({
    url: target.introspectUrl,
    headers: auth(target.resourceServer),
    body: form({ token: await mintToken(target, client) }),
  });
  const oneUse = (values: string[]) => cycle(values, true, HOT_SCENARIOS[scenario]);
  switch (scenario) {
    case 'cc-jwt':
      return { url: target.tokenUrl, headers: auth(target.jwtClient), body: CLIENT_CREDENTIALS };
    case 'cc-opaque':
      return { url: target.tokenUrl, headers: auth(target.opaqueClient), body: CLIENT_CREDENTIALS };
    case 'introspect-opaque':
      return introspect(target.opaqueClient);
    case 'introspect-jwt':
      return introspect(target.jwtClient);
    case 'jwt-bearer':
      return { url: target.tokenUrl, body: oneUse(await presignAssertions(target, singleUse)) };
    case 'code-redemption':
      return { url: target.tokenUrl, headers: auth(target.codeClient), body: oneUse(await mintAuthorizationCodes(target, singleUse)) };
    case 'refresh-rotation':
      return { url: target.tokenUrl, headers: auth(target.codeClient), body: oneUse(await mintRefreshTokens(target, singleUse)) };
  }
}

/**
 * Seconds one measure() call can send requests for: autocannon only stops at its next one-second
 * sample, so the warm-up and the measured run may each last up to a second longer than asked.
 */
export const sendingSeconds = (warmup: number, duration: number) => Math.ceil(warmup) + Math.ceil(duration) + 2;

/** How many single-use values a load of `seconds` needs at up to `rate` requests per second, with a 1.25× margin. */
export const singleUseCount = (rate: number, seconds: number) => Math.ceil(1.25 * rate * seconds);
