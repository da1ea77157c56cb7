/** Sizes of every scenario: the (`full`) and small ones for CI (`quick`). */
export interface Sizes {
  runs: number;
  fanout: { clients: number; burst: number; steadyPerSec: number; steadyMs: number };
  keys: { clients: number; perSec: number; ms: number };
  memory: { connections: number };
  fetch: { clientsPerNode: number; secrets: number; burst: number };
  slow: { others: number; keys: number; updates: number; perSec: number };
  /** `turns` turns of `perTurn` updates (one per macrotask), and `alone` updates one per turn. */
  frames: { clients: number; perTurn: number; turns: number; alone: number };
  /** Connections held at each step; `max` adds a last step up to the server's open-file limit. */
  capacity: { steps: number[]; max: boolean };
}

export const FULL: Sizes = {
  runs: 3,
  fanout: { clients: 2_000, burst: 200, steadyPerSec: 10, steadyMs: 5_000 },
  keys: { clients: 10_000, perSec: 2_000, ms: 5_000 },
  memory: { connections: 10_000 },
  fetch: { clientsPerNode: 20, secrets: 4, burst: 1_000 },
  slow: { others: 20, keys: 50, updates: 20_000, perSec: 5_000 },
  frames: { clients: 2_000, perTurn: 100, turns: 2, alone: 30 },
  capacity: { steps: [5_000, 10_000], max: true },
};

export const QUICK: Sizes = {
  runs: 1,
  fanout: { clients: 200, burst: 50, steadyPerSec: 10, steadyMs: 1_000 },
  keys: { clients: 500, perSec: 500, ms: 1_000 },
  memory: { connections: 500 },
  fetch: { clientsPerNode: 6, secrets: 3, burst: 200 },
  slow: { others: 5, keys: 50, updates: 2_000, perSec: 2_000 },
  frames: { clients: 200, perTurn: 50, turns: 2, alone: 10 },
  capacity: { steps: [1_000, 2_000], max: false },
};
