/**
 * The kinds of metric the node keeps, as Prometheus knows them: counters, histograms with
 * fixed buckets, gauges read at scrape time, and state sets (an enum as one series per state).
 */
/** A monotonically increasing count. */
export class Counter {
  value = 0;
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(by = 1): void {
    this.value += by;
  }
}

/**
 * Latency buckets in seconds (upper bounds, Prometheus `le`): 0.5 ms to 10 s. Durations come
 * from the node's injected clock, which counts milliseconds (the system clock in whole ones),
 * so a call quicker than the clock's tick lands in the first bucket.
 */
const LATENCY_BUCKETS_SECONDS = [
  0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
export const SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096];

/** Observations counted into fixed buckets (cumulative on export, as Prometheus wants). */
export class Histogram {
  readonly counts: number[];
  count = 0;
  sum = 0;
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[] = LATENCY_BUCKETS_SECONDS,
  ) {
    this.counts = new Array(buckets.length + 1).fill(0);
  }

  observe(value: number): void {
    let i = 0;
    while (i < this.buckets.length && value > (this.buckets[i] as number)) i++;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.count++;
    this.sum += value;
  }

  /** Observes a duration measured in milliseconds (the clock's unit) as seconds (the metric's). */
  observeMs(ms: number): void {
    this.observe(ms / 1000);
  }

  /** The smallest bucket bound below which at least `q` of the observations fall (Infinity past the last). */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const target = q * this.count;
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i] as number;
      if (seen >= target) return this.buckets[i] ?? Number.POSITIVE_INFINITY;
    }
    return Number.POSITIVE_INFINITY;
  }
}

/** A value read when the metrics are (a scrape), from the node it describes. */
export class Gauge {
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => number,
  ) {}

  get value(): number {
    return this.read();
  }
}

/**
 * An enum as Prometheus wants one (a "state set"): one series per state, labelled with it,
 * 1 for the current state and 0 for the others.
 */
export class StateGauge<S extends string> {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly label: string,
    readonly states: readonly S[],
    private readonly read: () => S,
  ) {}

  get value(): S {
    return this.read();
  }
}

/** A histogram as `toObject()` shows it. */
export interface HistogramSummary {
  readonly count: number;
  readonly sum: number;
  readonly p50: number;
  readonly p99: number;
}

/** Any metric the node keeps. */
export type Metric = Counter | Histogram | Gauge | StateGauge<string>;
