import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface LoadTarget {
  port: number;
  env: string;
  clientId: string;
  clientSecret: string;
}

/** What happened in one sampling interval; responses count in the interval they arrived in. */
export interface IntervalCounts {
  sent: number;
  /** Due by the schedule but not sent, because `maxInFlight` requests were still open. */
  dropped: number;
  ok: number;
  expected4xx: number;
  /** 5xx, network errors, timeouts, and any answer its request kind did not expect. */
  unexpected: number;
  /** Milliseconds, of every response that arrived (whatever its status). */
  latencies: number[];
  /** The first few unexpected answers, to say what went wrong. */
  examples: string[];
}

type Kind = 'token' | 'introspect' | 'wrongSecret';

/**
 * The wrong-secret requests come from another loopback address: Gatehouse throttles failed client
 * authentication per source address, and from 127.0.0.1 they would soon lock out the valid traffic.
 */
const WRONG_SECRET_SOURCE = '127.0.0.2';
const TICK_MS = 5;
const TIMEOUT_MS = 10_000;

const emptyCounts = (): IntervalCounts => ({ sent: 0, dropped: 0, ok: 0, expected4xx: 0, unexpected: 0, latencies: [], examples: [] });
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

/** Whether this host routes WRONG_SECRET_SOURCE to the loopback interface (Linux does). */
export function canUseWrongSecretSource(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress: WRONG_SECRET_SOURCE });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * An open-loop load: requests leave at `rate` per second whatever the answers, so a slow server
 * shows up as latency and open requests instead of quietly lowering the offered load. Of every
 * 100 requests, 10 introspect a recently issued token, 1 presents a wrong secret (when
 * `wrongSecret` is on), the rest are client_credentials token requests.
 */
export class OpenLoopLoad {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 32 });
  private readonly wrongAgent = new Agent({ keepAlive: true, maxSockets: 4 });
  private counts = emptyCounts();
  private inFlight = 0;
  private scheduled = 0;
  private timer: NodeJS.Timeout | undefined;
  private token: string | undefined;
  /** Answers over the whole run by request kind and status ("token 200", "wrongSecret 429", …). */
  readonly statuses = new Map<string, number>();

  constructor(
    private readonly target: LoadTarget,
    private readonly options: { rate: number; maxInFlight: number; wrongSecret: boolean },
  ) {}

  start(): void {
    const startedAt = performance.now();
    this.timer = setInterval(() => {
      const due = Math.floor(((performance.now() - startedAt) / 1000) * this.options.rate);
      for (; this.scheduled < due; this.scheduled++) {
        if (this.inFlight >= this.options.maxInFlight) this.counts.dropped += 1;
        else this.send(this.kindOf(this.scheduled));
      }
    }, TICK_MS);
  }

  /** Returns this interval's counts and starts the next interval. */
  take(): IntervalCounts {
    const counts = this.counts;
    this.counts = emptyCounts();
    return counts;
  }

  /** Stops sending and waits up to `timeoutMs` for open requests; returns how many are left. */
  async stop(timeoutMs: number): Promise<number> {
    clearInterval(this.timer);
    const until = performance.now() + timeoutMs;
    while (this.inFlight > 0 && performance.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
    this.agent.destroy();
    this.wrongAgent.destroy();
    return this.inFlight;
  }

  private kindOf(n: number): Kind {
    if (this.options.wrongSecret && n % 100 === 99) return 'wrongSecret';
    if (n % 10 === 4 && this.token !== undefined) return 'introspect';
    return 'token';
  }

  private send(kind: Kind): void {
    const { port, env, clientId, clientSecret } = this.target;
    const wrong = kind === 'wrongSecret';
    const body = kind === 'introspect' ? `token=${encodeURIComponent(this.token ?? '')}` : 'grant_type=client_credentials';
    const started = performance.now();
    let finished = false;
    const finish = (status: number, text: string) => {
      if (finished) return;
      finished = true;
      this.inFlight -= 1;
      this.record(kind, status, text, performance.now() - started);
    };
    this.inFlight += 1;
    this.counts.sent += 1;
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: `/envs/${env}/${kind === 'introspect' ? 'introspect' : 'token'}`,
        method: 'POST',
        agent: wrong ? this.wrongAgent : this.agent,
        ...(wrong ? { localAddress: WRONG_SECRET_SOURCE } : {}),
        headers: {
          authorization: basic(clientId, wrong ? `${clientSecret}x` : clientSecret),
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
        },
        timeout: TIMEOUT_MS,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => finish(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8')));
        res.on('error', (error) => finish(0, error.message));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
    req.on('error', (error) => finish(0, error.message));
    req.end(body);
  }

  private record(kind: Kind, status: number, text: string, ms: number): void {
    const counts = this.counts;
    const key = `${kind} ${status || 'network error'}`;
    this.statuses.set(key, (this.statuses.get(key) ?? 0) + 1);
    if (status === 0) {
      counts.unexpected += 1;
      if (counts.examples.length < 5) counts.examples.push(`${kind}: ${text}`);
      return;
    }
    counts.latencies.push(ms);
    const verdict = this.judge(kind, status, text);
    if (verdict === 'ok') counts.ok += 1;
    else if (verdict === 'expected4xx') counts.expected4xx += 1;
    else {
      counts.unexpected += 1;
      if (counts.examples.length < 5) counts.examples.push(`${kind}: ${status} ${text.slice(0, 160)}`);
    }
  }

  private judge(kind: Kind, status: number, text: string): 'ok' | 'expected4xx' | 'unexpected' {
    if (kind === 'wrongSecret') return status === 401 || status === 429 ? 'expected4xx' : 'unexpected';
    if (status !== 200) return 'unexpected';
    const parsed = parseJson(text);
    if (kind === 'introspect') return parsed?.active === true ? 'ok' : 'unexpected';
    if (typeof parsed?.access_token !== 'string') return 'unexpected';
    // Introspection checks a token issued moments ago, as a resource server would see it.
    this.token = parsed.access_token;
    return 'ok';
  }
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
