/** A growable list of latency samples in milliseconds. */
export class Samples {
  #data = new Float64Array(1024);
  #n = 0;

  add(value: number): void {
    if (this.#n === this.#data.length) {
      const bigger = new Float64Array(this.#data.length * 2);
      bigger.set(this.#data);
      this.#data = bigger;
    }
    this.#data[this.#n++] = value;
  }

  summary(): { count: number; p50: number; p99: number; max: number } {
    const sorted = this.#data.slice(0, this.#n).sort();
    return { count: this.#n, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: sorted[this.#n - 1] ?? NaN };
  }
}

/** Nearest-rank quantile of sorted values; NaN when empty. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

/** Median, min and max of the runs of one figure (NaN runs ignored). */
export interface Spread {
  median: number;
  min: number;
  max: number;
  runs: number;
}

export function spread(values: readonly number[]): Spread {
  const ok = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (ok.length === 0) return { median: NaN, min: NaN, max: NaN, runs: 0 };
  const mid = ok.length >> 1;
  const median = ok.length % 2 ? ok[mid]! : (ok[mid - 1]! + ok[mid]!) / 2;
  return { median, min: ok[0]!, max: ok[ok.length - 1]!, runs: ok.length };
}
