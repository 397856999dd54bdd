import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * Reading V8 `.cpuprofile` files (written by `node --cpu-prof`): one call tree merged over the
 * profiles of every process that served, frames of the esbuild bundle mapped back to `src/`
 * through its source map, and self time grouped by function, by package and by category.
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  /** Microseconds on the system's monotonic clock, which `process.hrtime` reads too. */
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** A span of time on the monotonic clock, in microseconds (see `monotonicMicros`). */
export interface TimeWindow {
  from: number;
  to: number;
}

/** Now on the clock of a profile's timestamps: both are CLOCK_MONOTONIC on Linux, shared by all processes. */
export const monotonicMicros = () => Number(process.hrtime.bigint() / 1000n);

/** A function as the breakdown names it. */
export interface Frame {
  name: string;
  /** `src/oauth/x.ts:12`, `fastify/lib/reply.js:300`, `node:internal/crypto/sig:200`, or '' for V8's pseudo-frames. */
  where: string;
  /** `gatehouse`, `node core`, a package name, or `(garbage collector)`-like pseudo-frames. */
  owner: string;
}

/** One call path of the merged tree; times in microseconds. */
export interface CallNode {
  frame: Frame;
  self: number;
  total: number;
  children: Map<string, CallNode>;
}

export const readProfile = (path: string): CpuProfile => JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;

/** Maps `file://…/dist/…` positions (the entry and its chunks) to `src/…` through their source maps, when there are some. */
function sourceMapper(): (url: string, line: number, column: number) => { file: string; line: number } | undefined {
  const maps = new Map<string, SourceMap | undefined>();
  return (url, line, column) => {
    if (!url.startsWith('file://') || !url.endsWith('.js')) return undefined;
    if (!maps.has(url)) {
      const path = `${fileURLToPath(url)}.map`;
      maps.set(url, existsSync(path) ? new SourceMap(JSON.parse(readFileSync(path, 'utf8'))) : undefined);
    }
    const entry = maps.get(url)?.findEntry(line, column) as { originalSource?: string; originalLine?: number } | undefined;
    if (entry?.originalSource === undefined) return undefined;
    return { file: entry.originalSource, line: entry.originalLine ?? 0 };
  };
}

const packageOf = (path: string) => {
  const [first, second] = path.split('node_modules/').at(-1)?.split('/') ?? [];
  return first?.startsWith('@') ? `${first}/${second}` : (first ?? path);
};

/** Names a profile call frame: Gatehouse files relative to the repository, packages by name. */
export function frameNamer(): (callFrame: ProfileNode['callFrame']) => Frame {
  const mapped = sourceMapper();
  return ({ functionName, url, lineNumber, columnNumber }) => {
    const name = functionName || '(anonymous)';
    if (url === '') return { name, where: '', owner: functionName.startsWith('(') ? functionName : '(native)' };
    if (url.startsWith('node:')) return { name, where: `${url}:${lineNumber + 1}`, owner: 'node core' };
    // Packages are named by their installed file: some ship source maps to their own sources.
    if (url.includes('node_modules/')) return { name, where: `${url.split('node_modules/').at(-1)}:${lineNumber + 1}`, owner: packageOf(url) };
    const original = mapped(url, lineNumber, columnNumber);
    const file = original?.file ?? url;
    const line = original?.line ?? lineNumber;
    // A package bundled into dist/ (scripts/build-cli.mjs) is named as when it is loaded from node_modules.
    if (file.includes('node_modules/')) return { name, where: `${file.split('node_modules/').at(-1)}:${line + 1}`, owner: packageOf(file) };
    const inRepo = /(?:^|\/)((?:src|bench|bin|dist)\/.*)$/.exec(file)?.[1] ?? file;
    return { name, where: `${inRepo}:${line + 1}`, owner: 'gatehouse' };
  };
}

const emptyNode = (frame: Frame): CallNode => ({ frame, self: 0, total: 0, children: new Map() });

/** Self time per node id, of the samples taken within `window` (all when absent). */
function selfTimes(profile: CpuProfile, window: TimeWindow | undefined): Map<number, number> {
  const self = new Map<number, number>();
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (window && (at < window.from || at > window.to)) return;
    self.set(id, (self.get(id) ?? 0) + delta);
  });
  return self;
}

/**
 * One call tree for several profiles (the workers of one server), identical call paths merged;
 * with a `window`, only the samples taken then (the measured load, without start-up or warm-up).
 */
export function mergeProfiles(profiles: CpuProfile[], window?: TimeWindow): CallNode {
  const name = frameNamer();
  const root = emptyNode({ name: '(all)', where: '', owner: '(root)' });
  for (const profile of profiles) {
    const byId = new Map(profile.nodes.map((node) => [node.id, node]));
    const self = selfTimes(profile, window);
    const add = (node: ProfileNode, into: CallNode): number => {
      const frame = name(node.callFrame);
      const key = `${frame.name} ${frame.where}`;
      const merged = into.children.get(key) ?? emptyNode(frame);
      into.children.set(key, merged);
      const own = self.get(node.id) ?? 0;
      let total = own;
      for (const child of node.children ?? []) {
        const next = byId.get(child);
        if (next) total += add(next, merged);
      }
      merged.self += own;
      merged.total += total;
      return total;
    };
    const top = profile.nodes[0];
    // The profile's own '(root)' is skipped: its children become the children of the merged root.
    for (const child of top?.children ?? []) {
      const next = byId.get(child);
      if (next) root.total += add(next, root);
    }
  }
  return root;
}

/** Visits every node of the tree with the path of frames above it (leaf last). */
export function walk(root: CallNode, visit: (node: CallNode, stack: Frame[]) => void): void {
  const go = (node: CallNode, stack: Frame[]) => {
    const path = [...stack, node.frame];
    visit(node, path);
    for (const child of node.children.values()) go(child, path);
  };
  for (const child of root.children.values()) go(child, []);
}

export const IDLE = '(idle)';
