import { formatValue, meets, type Results } from './results.js';
import type { Metric, Scenario } from './scenario.js';
import type { Sizes } from './sizes.js';
import type { TargetSpec } from './targets/index.js';

function cell(results: Results, scenario: string, target: TargetSpec, metric: Metric): string {
  const s = results.spread(scenario, target.id, metric.key);
  if (s.runs === 0) return 'n/a';
  let text = formatValue(metric, s.median);
  if (s.runs > 1 && !metric.format && s.min !== s.max) text += ` (${formatValue(metric, s.min)}–${formatValue(metric, s.max)})`;
  if (!metric.noRatio && target.id !== target.baseline) {
    const ratio = results.ratio(scenario, target, metric.key);
    if (Number.isFinite(ratio)) text += ` ×${ratio.toFixed(2)}`;
  }
  return text;
}

/** A target's label, with the scenario's own node count when it asks for one (`drain`: 3). */
function labelOf(target: TargetSpec, scenario: Scenario): string {
  return scenario.nodes ? target.label.replace(/\d+ nodes?/, `${scenario.nodes} nodes`) : target.label;
}

function header(metric: Metric): string {
  return metric.unit ? `${metric.label} (${metric.unit})` : metric.label;
}

/** One markdown table per scenario: a row per target, a column per figure. */
export function scenarioTable(results: Results, scenario: Scenario): string {
  const targets = results.targetsOf(scenario.name);
  const lines = [`| target | ${scenario.metrics.map(header).join(' | ')} |`, `|---|${scenario.metrics.map(() => '---:').join('|')}|`];
  for (const target of targets) {
    const error = results.error(scenario.name, target.id);
    const cells = error
      ? [`not available: ${error.split('\n')[0]!.slice(0, 160)}`, ...scenario.metrics.slice(1).map(() => '')]
      : scenario.metrics.map((m) => cell(results, scenario.name, target, m));
    lines.push(`| ${labelOf(target, scenario)} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

/** Each goal of the issue that is a ratio to the hand-written server, per entity-sync target. */
export function goalTable(results: Results, scenarios: Scenario[]): string {
  const lines = ['| scenario | figure | target | ratio to hand-written | goal | met |', '|---|---|---|---:|---:|:---:|'];
  for (const scenario of scenarios) {
    for (const metric of scenario.metrics.filter((m) => m.goal !== undefined)) {
      for (const target of results.targetsOf(scenario.name).filter((t) => t.impl !== 'ws')) {
        const ratio = results.ratio(scenario.name, target, metric.key);
        if (!Number.isFinite(ratio)) continue;
        const goal = target.impl === 'es' ? `${metric.better === 'lower' ? '≤' : '≥'} ${metric.goal}×` : '';
        const met = target.impl === 'es' ? (meets(metric, ratio) ? 'yes' : '**no**') : '';
        lines.push(`| ${scenario.name} | ${header(metric)} | ${target.label} | ${ratio.toFixed(2)}× | ${goal} | ${met} |`);
      }
    }
  }
  return lines.join('\n');
}

/** Each absolute goal of the issue (a metric's `limit`), per target that ran the scenario. */
export function limitTable(results: Results, scenarios: Scenario[]): string {
  const lines = ['| scenario | figure | target | median | goal | met |', '|---|---|---|---:|---:|:---:|'];
  for (const scenario of scenarios) {
    for (const metric of scenario.metrics.filter((m) => m.limit !== undefined)) {
      for (const target of results.targetsOf(scenario.name)) {
        const value = results.spread(scenario.name, target.id, metric.key).median;
        const met = metric.better === 'lower' ? value <= metric.limit! : value >= metric.limit!;
        const goal = `${metric.better === 'lower' ? '≤' : '≥'} ${formatValue(metric, metric.limit!)}`;
        lines.push(
          `| ${scenario.name} | ${header(metric)} | ${labelOf(target, scenario)} | ${formatValue(metric, value)} | ${goal} | ${met ? 'yes' : '**no**'} |`,
        );
      }
    }
  }
  return lines.length > 2 ? lines.join('\n') : '';
}

/** The whole report as markdown: goals, then every scenario's table. */
export function renderReport(results: Results, scenarios: Scenario[], sizes: Sizes): string {
  const parts = ['## Goals (ratio of medians to the hand-written server on the same broker)', '', goalTable(results, scenarios)];
  const limits = limitTable(results, scenarios);
  if (limits) parts.push('', '## Absolute goals (median of the runs)', '', limits);
  for (const scenario of scenarios) {
    if (!results.runs.has(scenario.name)) continue;
    parts.push('', `## ${scenario.name}`, '', scenario.description(sizes), '', scenarioTable(results, scenario));
  }
  return parts.join('\n');
}
