import { Counter, Gauge, type Metric, StateGauge } from './metric-kinds.js';

/**
 * Prometheus text exposition format 0.0.4: a HELP and a TYPE line per metric, then its series,
 * each carrying `labels` (escaped as the format says), histograms with cumulative buckets.
 */
export function renderPrometheus(
  metrics: readonly Metric[],
  labels: Readonly<Record<string, string>>,
): string {
  const base = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  const render = (extra: string[]): string => {
    const all = [...base, ...extra];
    return all.length === 0 ? '' : `{${all.join(',')}}`;
  };
  const lines: string[] = [];
  for (const metric of metrics) {
    lines.push(`# HELP ${metric.name} ${escapeHelp(metric.help)}`);
    if (metric instanceof Counter || metric instanceof Gauge) {
      const type = metric instanceof Counter ? 'counter' : 'gauge';
      lines.push(`# TYPE ${metric.name} ${type}`, `${metric.name}${render([])} ${metric.value}`);
      continue;
    }
    if (metric instanceof StateGauge) {
      lines.push(`# TYPE ${metric.name} gauge`);
      const current = metric.value;
      for (const state of metric.states)
        lines.push(
          `${metric.name}${render([`${metric.label}="${escapeLabel(state)}"`])} ${state === current ? 1 : 0}`,
        );
      continue;
    }
    lines.push(`# TYPE ${metric.name} histogram`);
    let cumulative = 0;
    metric.buckets.forEach((bound, i) => {
      cumulative += metric.counts[i] as number;
      lines.push(`${metric.name}_bucket${render([`le="${bound}"`])} ${cumulative}`);
    });
    lines.push(`${metric.name}_bucket${render(['le="+Inf"'])} ${metric.count}`);
    lines.push(
      `${metric.name}_sum${render([])} ${metric.sum}`,
      `${metric.name}_count${render([])} ${metric.count}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}
