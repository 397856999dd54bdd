import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse } from 'yaml';

// CI builds no image (scripts/container-smoke.sh does, with podman, outside CI), so the image's
// rules are checked here as text.
const root = new URL('../../', import.meta.url);
const dockerfile = readFileSync(new URL('Dockerfile', root), 'utf8');
const dockerignore = readFileSync(new URL('.dockerignore', root), 'utf8');

interface Instruction {
  keyword: string;
  args: string;
}

/** The Dockerfile's instructions, continuation lines joined, comments dropped. */
function instructions(text: string): Instruction[] {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [keyword = '', ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    });
}

const all = instructions(dockerfile);
const stages = all.filter((i) => i.keyword === 'FROM');
const runtime = all.slice(all.lastIndexOf(stages.at(-1) as Instruction));

describe('Dockerfile', () => {
  it('is multi-stage: a build stage and a runtime stage that copies from it', () => {
    assert.ok(stages.length >= 2);
    assert.match(stages[0]?.args ?? '', / AS build$/i);
    assert.ok(runtime.some((i) => i.keyword === 'COPY' && i.args.startsWith('--from=build ')));
    assert.ok(!runtime.some((i) => i.keyword === 'RUN' && /npm (ci|install)\b/.test(i.args)), 'the runtime stage installs nothing');
  });

  it('takes its base image as a build argument that defaults to a public node image', () => {
    const arg = all.find((i) => i.keyword === 'ARG' && i.args.startsWith('BASE_IMAGE='));
    assert.match(arg?.args ?? '', /^BASE_IMAGE=node:\d+-bookworm-slim$/);
    assert.ok(all.indexOf(arg as Instruction) < all.indexOf(stages[0] as Instruction), 'declared before the first FROM');
    for (const stage of stages) assert.match(stage.args, /^\$\{BASE_IMAGE\} AS \w+$/);
  });

  it('runs as a user other than root', () => {
    const users = runtime.filter((i) => i.keyword === 'USER');
    assert.ok(users.length > 0);
    assert.doesNotMatch(users.at(-1)?.args ?? '', /^(root|0)(:|$)/);
  });

  it('checks health on /readyz without curl, and runs `gatehouse serve`', () => {
    const health = runtime.find((i) => i.keyword === 'HEALTHCHECK');
    assert.match(health?.args ?? '', /CMD \["node", "-e", .*\/readyz/);
    assert.equal(runtime.find((i) => i.keyword === 'ENTRYPOINT')?.args, '["gatehouse"]');
    assert.equal(runtime.find((i) => i.keyword === 'CMD')?.args, '["serve"]');
    assert.ok(
      runtime.some((i) => i.keyword === 'RUN' && i.args.includes('/usr/local/bin/gatehouse')),
      'gatehouse is on PATH',
    );
  });

  it('copies only files that exist and that .dockerignore lets through', () => {
    const allowed = dockerignore
      .split('\n')
      .filter((l) => l.startsWith('!'))
      .map((l) => l.slice(1).replace(/\/$/, ''));
    const copies = all.filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from='));
    assert.ok(copies.length > 0);
    for (const copy of copies) {
      const sources = copy.args.split(/\s+/).slice(0, -1);
      for (const source of sources) {
        assert.ok(existsSync(new URL(source, root)), `COPY ${source}: no such file`);
        assert.ok(allowed.includes(source.replace(/\/$/, '')), `COPY ${source}: excluded by .dockerignore`);
      }
    }
  });

  it('keeps writes to the data volume, so a read-only root filesystem works', () => {
    assert.ok(runtime.some((i) => i.keyword === 'VOLUME' && i.args.includes('/var/lib/gatehouse')));
    assert.ok(runtime.some((i) => i.keyword === 'ENV' && i.args.includes('GATEHOUSE_DATA_DIR=/var/lib/gatehouse')));
  });
});

describe('scripts/container-smoke.sh', () => {
  const path = new URL('scripts/container-smoke.sh', root);
  const script = readFileSync(path, 'utf8');
  const deployment = readFileSync(new URL('docs/deployment.md', root), 'utf8');

  it('is executable, documented in docs/deployment.md and not part of CI', () => {
    assert.ok((statSync(path).mode & 0o111) !== 0);
    assert.ok(deployment.includes('## Container image') && deployment.includes('bash scripts/container-smoke.sh'));
    assert.ok(!readFileSync(new URL('.ci/run', root), 'utf8').includes('container-smoke'));
  });

  it('builds on the base it makes, runs read-only and unprivileged, and checks health and a token', () => {
    assert.match(script, /podman build [^\n]*--format docker/);
    assert.ok(script.includes('--build-arg "BASE_IMAGE=$BASE_IMAGE"'));
    assert.match(script, /--read-only --user node:node/);
    assert.ok(script.includes('podman healthcheck run'));
    assert.ok(script.includes('grant_type=client_credentials'));
    assert.ok(script.includes('trap cleanup EXIT'));
  });
});

describe('compose.yaml', () => {
  type Service = {
    image?: string;
    build?: unknown;
    read_only?: boolean;
    depends_on?: Record<string, { condition: string }>;
    healthcheck?: unknown;
    environment?: Record<string, string>;
  };
  const compose = parse(readFileSync(new URL('compose.yaml', root), 'utf8'), { merge: true }) as { services: Record<string, Service> };
  const nodes = Object.entries(compose.services).filter(([, s]) => s.build !== undefined);

  it('runs PostgreSQL with a health check and two read-only Gatehouse nodes that wait for it', () => {
    const postgres = compose.services.postgres;
    assert.ok(postgres?.image?.startsWith('postgres:'));
    assert.ok(postgres?.healthcheck);
    assert.equal(nodes.length, 2);
    for (const [name, node] of nodes) {
      assert.equal(node.read_only, true, name);
      assert.match(node.environment?.GATEHOUSE_DATABASE_URL ?? '', /^postgres:\/\/.*@postgres:5432\//, name);
      assert.ok(node.environment?.GATEHOUSE_KEY_SECRET && node.environment.GATEHOUSE_PUBLIC_URL, name);
      assert.ok(node.depends_on, `${name} waits for what it needs`);
    }
    // The first node migrates as it starts; the second starts once the first is ready.
    const [[first], [second, secondNode]] = nodes as [[string, Service], [string, Service]];
    assert.equal(compose.services[first]?.depends_on?.postgres?.condition, 'service_healthy');
    assert.equal(secondNode.depends_on?.[first]?.condition, 'service_healthy', second);
  });
});
