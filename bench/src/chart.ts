import type { Results } from './results.js';
import type { Scenario } from './scenario.js';
import { TARGETS } from './targets/index.js';

/** Figures drawn: the ones the issue sets goals for. */
const CHARTED: Array<[scenario: string, metric: string, label: string]> = [
  ['fanout', 'burstCpu', 'fanout burst: CPU/delivery'],
  ['fanout', 'steadyCpu', 'fanout steady: CPU/delivery'],
  ['fanout', 'steadyP99', 'fanout steady: p99'],
  ['keys', 'cpu', 'keys: CPU/delivery'],
  ['connect+memory', 'connectPerSec', 'connect/s'],
  ['connect+memory', 'rssPerConn', 'RSS/connection'],
  ['connect+memory', 'heapPerConn', 'heap/connection'],
];

const COLORS: Record<string, string> = {
  'es-memory': '#2563eb',
  'es-nats': '#0891b2',
  'es-redis': '#7c3aed',
  'sio-memory': '#ea580c',
  'sio-redis': '#dc2626',
};

const escapeXml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/**
 * A horizontal bar chart of ratios to the hand-written server (1.0 = the practical limit), one
 * group per charted figure, one bar per entity-sync and Socket.IO target. Log scale, so 0.5x and
 * 2x sit equally far from 1.
 */
export function renderChart(results: Results, scenarios: Scenario[]): string {
  const targets = TARGETS.filter((t) => t.impl !== 'ws');
  const bar = 14;
  const groupGap = 18;
  const left = 190;
  const width = 760;
  const plot = width - left - 70;
  const [lo, hi] = [Math.log2(0.25), Math.log2(16)];
  const x = (ratio: number): number => left + ((Math.log2(Math.min(16, Math.max(0.25, ratio))) - lo) / (hi - lo)) * plot;
  const out: string[] = [];
  let y = 52;
  for (const [scenario, metric, label] of CHARTED) {
    const spec = scenarios.find((s) => s.name === scenario)?.metrics.find((m) => m.key === metric);
    if (!spec || !results.runs.has(scenario)) continue;
    out.push(`<text x="8" y="${y + 11}" font-weight="bold">${escapeXml(label)}</text>`);
    out.push(`<text x="8" y="${y + 25}" fill="#555">${spec.better === 'lower' ? 'lower is better' : 'higher is better'}</text>`);
    for (const target of targets) {
      const ratio = results.ratio(scenario, target, metric);
      if (!Number.isFinite(ratio)) continue;
      const x1 = x(1);
      const x2 = x(ratio);
      const color = COLORS[target.id] ?? '#666';
      out.push(
        `<rect x="${Math.min(x1, x2)}" y="${y}" width="${Math.max(1, Math.abs(x2 - x1))}" height="${bar - 2}" fill="${color}"><title>${escapeXml(target.label)}: ${ratio.toFixed(2)}×</title></rect>`,
      );
      out.push(`<text x="${Math.max(x1, x2) + 4}" y="${y + 10}" font-size="10">${ratio.toFixed(2)}×</text>`);
      y += bar;
    }
    y += groupGap;
  }
  const axis: string[] = [];
  for (const tick of [0.25, 0.5, 1, 2, 4, 8, 16]) {
    axis.push(`<line x1="${x(tick)}" y1="42" x2="${x(tick)}" y2="${y}" stroke="${tick === 1 ? '#000' : '#ddd'}"/>`);
    axis.push(`<text x="${x(tick)}" y="38" text-anchor="middle" font-size="10">${tick}×</text>`);
  }
  const legend = targets.map(
    (t, i) =>
      `<rect x="${left}" y="${y + 8 + i * 14}" width="10" height="10" fill="${COLORS[t.id]}"/><text x="${left + 14}" y="${y + 17 + i * 14}" font-size="11">${escapeXml(t.label)}</text>`,
  );
  const height = y + 20 + targets.length * 14;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="8" y="16" font-weight="bold">Ratio to the hand-written ws server on the same broker (median of runs, log scale)</text>`,
    ...axis,
    ...out,
    ...legend,
    '</svg>',
  ].join('\n');
}
