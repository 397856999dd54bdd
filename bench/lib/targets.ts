import type { ScenarioResult } from './report.ts';

/** The performance targets, checked against one run's results (c=50, ratios to that run's baseline). */
export function evaluateTargets(results: ScenarioResult[], derived: Record<string, number>) {
  const targets: { name: string; threshold: string; value: number; met: boolean }[] = [];
  const at50 = (server: string, scenario: string) => results.find((r) => r.server === server && r.scenario === scenario && r.connections === 50);
  const ratioTarget = (server: string, scenario: string, min: number) => {
    const r = at50(server, scenario);
    targets.push({ name: `${server} ${scenario} (c=50)`, threshold: `ratio ≥ ${min}`, value: r?.ratio ?? Number.NaN, met: (r?.ratio ?? 0) >= min });
  };
  const peer = at50('oidc-provider', 'client_credentials → JWT');
  for (const server of ['gatehouse-sqlite', 'gatehouse-postgres']) {
    ratioTarget(server, 'client_credentials → JWT', 0.2);
    const own = at50(server, 'client_credentials → JWT');
    const vsPeer = own && peer ? own.requestsPerSecond / peer.requestsPerSecond : Number.NaN;
    targets.push({ name: `${server} client_credentials → JWT ÷ oidc-provider (c=50)`, threshold: '≥ 3', value: vsPeer, met: vsPeer >= 3 });
    ratioTarget(server, 'client_credentials → opaque', 0.2);
    ratioTarget(server, 'introspect opaque', 0.45);
    ratioTarget(server, 'introspect JWT', 0.11);
    ratioTarget(server, 'jwt-bearer', 0.085);
    for (const r of results.filter((x) => x.server === server && x.connections === 50)) {
      targets.push({ name: `${server} ${r.scenario}: p99 ÷ p50 (c=50)`, threshold: '≤ 3', value: r.p99 / r.p50, met: r.p99 <= 3 * r.p50 });
    }
  }
  for (const [name, value] of Object.entries(derived)) {
    if (name.includes('introspection rate with')) targets.push({ name, threshold: '≥ 0.8 (within 1.25×)', value, met: value >= 0.8 });
    if (name.includes('with a quota ÷ without')) targets.push({ name, threshold: '≥ 0.95 (within 5 %)', value, met: value >= 0.95 });
    if (name.includes('with metrics, audit and usage ÷ without')) targets.push({ name, threshold: '≥ 0.95 (within 5 %)', value, met: value >= 0.95 });
  }
  return targets;
}
