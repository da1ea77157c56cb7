/** Sizes of every scenario: the (`full`) and small ones for CI (`quick`). */
export interface Sizes {
  runs: number;
  fanout: { clients: number; burst: number; steadyPerSec: number; steadyMs: number };
  keys: { clients: number; perSec: number; ms: number };
  memory: { connections: number };
  fetch: { clientsPerNode: number; secrets: number; burst: number };
  /** The views scenario: subscribers of one key (over all nodes), and their distinct users. */
  views: { subscribers: number; users: number };
  slow: { others: number; keys: number; updates: number; perSec: number };
  /** Reconnect storm: clients with `keysPerClient` keys over `distinctKeys`, all back within `spreadMs`. */
  storm: { clients: number; keysPerClient: number; distinctKeys: number; spreadMs: number };
  /** Each client dropped every `upMs` for `downMs`, for `ms`, while each key changes `perKeyPerSec` times/s. */
  jitter: { clients: number; keys: number; perKeyPerSec: number; upMs: number; downMs: number; ms: number };
  /** A node with `clients` drained over `drainMs` onto 2 others that serve `others` clients; `perSec` updates/s to those. */
  drain: { clients: number; others: number; drainMs: number; perSec: number };
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
  views: { subscribers: 1_000, users: 50 },
  slow: { others: 20, keys: 50, updates: 20_000, perSec: 5_000 },
  storm: { clients: 10_000, keysPerClient: 10, distinctKeys: 1_000, spreadMs: 1_000 },
  jitter: { clients: 5_000, keys: 100, perKeyPerSec: 2, upMs: 15_000, downMs: 2_000, ms: 40_000 },
  drain: { clients: 10_000, others: 1_000, drainMs: 10_000, perSec: 200 },
  frames: { clients: 2_000, perTurn: 100, turns: 2, alone: 30 },
  capacity: { steps: [5_000, 10_000], max: true },
};

export const QUICK: Sizes = {
  runs: 1,
  fanout: { clients: 200, burst: 50, steadyPerSec: 10, steadyMs: 1_000 },
  keys: { clients: 500, perSec: 500, ms: 1_000 },
  memory: { connections: 500 },
  fetch: { clientsPerNode: 6, secrets: 3, burst: 200 },
  views: { subscribers: 200, users: 20 },
  slow: { others: 5, keys: 50, updates: 2_000, perSec: 2_000 },
  storm: { clients: 500, keysPerClient: 10, distinctKeys: 1_000, spreadMs: 1_000 },
  jitter: { clients: 300, keys: 30, perKeyPerSec: 2, upMs: 2_500, downMs: 500, ms: 5_000 },
  drain: { clients: 500, others: 100, drainMs: 2_000, perSec: 100 },
  frames: { clients: 200, perTurn: 50, turns: 2, alone: 10 },
  capacity: { steps: [1_000, 2_000], max: false },
};
