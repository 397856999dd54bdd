import type { Counter, Histogram, LabelValues, MetricObjectWithValues, MetricValueWithName, Registry } from 'prom-client';

/*
 * Series counted by hand on the token endpoint's path. prom-client's `labels().inc()` and
 * `observe()` hash their label values on every call; for the two per-request metrics that came
 * to about 2 µs of a client_credentials request (CPU profile, 2026-11-30), most of what metrics
 * cost it. Here a request adds to plain numbers found by one key, and prom-client reads them at
 * each scrape: the counter through its `collect`, the histogram as a metric of prom-client's own
 * shape, so rendering and the `--workers` aggregation stay prom-client's. `npm run bench --
 * --observation`, client_credentials → JWT with metrics, audit and usage ÷ without, same run:
 * 0.951 (c=10) and 0.927 (c=50) through prom-client's labels, 0.989 and 0.998 counted here.
 */

type Labels = LabelValues<string>;

/** Counts per label combination; `fill` hands them to a prom-client counter whose `collect` calls it. */
export class CountedSeries {
  private readonly rows = new Map<string, { labels: Labels; value: number }>();

  /** Adds 1 to the series of `key`, made from `labels()` the first time. */
  add(key: string, labels: () => Labels): void {
    const row = this.rows.get(key);
    if (row) row.value += 1;
    else this.rows.set(key, { labels: labels(), value: 1 });
  }

  fill(counter: Counter<string>): void {
    counter.reset();
    for (const { labels, value } of this.rows.values()) counter.inc(labels, value);
  }

  clear(): void {
    this.rows.clear();
  }
}

interface HistogramRow {
  labels: Labels;
  /** Observations per bucket (not cumulative); the last one is +Inf. */
  counts: Float64Array;
  sum: number;
  count: number;
}

/**
 * A histogram with prom-client's output (`_bucket` cumulative with `le`, `_sum`, `_count`,
 * aggregated by sum across workers), observed without hashing labels.
 */
export class HandCountedHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly rows = new Map<string, HistogramRow>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: readonly number[],
  ) {}

  /** Registers it on `registry` as prom-client registers its own histograms. */
  register(registry: Registry): this {
    // prom-client types a metric as one of its classes; the registry needs only name, get and reset.
    registry.registerMetric(this as unknown as Histogram<string>);
    return this;
  }

  observe(key: string, labels: () => Labels, seconds: number): void {
    let row = this.rows.get(key);
    if (!row) {
      row = { labels: labels(), counts: new Float64Array(this.buckets.length + 1), sum: 0, count: 0 };
      this.rows.set(key, row);
    }
    let i = 0;
    while (i < this.buckets.length && seconds > (this.buckets[i] as number)) i++;
    row.counts[i] = (row.counts[i] as number) + 1;
    row.sum += seconds;
    row.count += 1;
  }

  async get(): Promise<MetricObjectWithValues<MetricValueWithName<string>>> {
    const values: MetricValueWithName<string>[] = [];
    for (const row of this.rows.values()) {
      let cumulative = 0;
      this.buckets.forEach((le, i) => {
        cumulative += row.counts[i] as number;
        values.push({ metricName: `${this.name}_bucket`, labels: { le, ...row.labels }, value: cumulative });
      });
      cumulative += row.counts[this.buckets.length] as number;
      values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf', ...row.labels }, value: cumulative });
      values.push({ metricName: `${this.name}_sum`, labels: row.labels, value: row.sum });
      values.push({ metricName: `${this.name}_count`, labels: row.labels, value: row.count });
    }
    // prom-client's types give `type` as an enum; at run time (and in its own histograms) it is the string.
    const metric = { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator, collect: () => {} };
    return metric as unknown as MetricObjectWithValues<MetricValueWithName<string>>;
  }

  reset(): void {
    this.rows.clear();
  }
}
