/** The part of the Web Locks API (`navigator.locks`) the shared client uses. */
export interface LockManagerLike {
  request(name: string, options: { signal?: AbortSignal }, callback: () => Promise<unknown>): Promise<unknown>;
}

/** Heartbeat period of the fallback election (no Web Locks). */
export const BEAT_MS = 500;
/** A follower that has heard nothing from a leader for this long claims the lead (fallback). */
export const SILENCE_MS = 1_500;
/** When the leader says goodbye, tabs claim after a random delay below this, so most see one claim. */
const CLAIM_JITTER_MS = 100;

/** Picks the one tab that holds the socket. */
export interface Election {
  /** Starts campaigning; `lead()` is called when this tab becomes the leader. */
  start(lead: () => void): void;
  /** The current leader was heard from (its announcement or heartbeat). */
  alive(): void;
  /** The current leader said it is leaving. */
  leaderLeft(): void;
  /** Stops campaigning, and gives up the lead if held. */
  close(): void;
}

/**
 * Holds a lock for as long as `untilReleased` is pending; the browser releases it when the tab
 * goes away, however it goes. Returns the function that releases it (or drops the request).
 */
export function holdLock(locks: LockManagerLike, name: string, onGranted: () => void): () => void {
  const abort = new AbortController();
  let release: () => void = () => abort.abort();
  const held = new Promise<void>((resolve) => {
    release = () => {
      abort.abort();
      resolve();
    };
  });
  locks
    .request(name, { signal: abort.signal }, () => {
      onGranted();
      return held;
    })
    .catch(() => {}); // aborted while waiting
  return () => release();
}

/**
 * The leader is whoever holds the Web Lock `<name>:leader`. Every tab queues for it; when the
 * leader's tab closes or crashes, the browser grants it to the next one at once.
 */
export class LockElection implements Election {
  private release: (() => void) | undefined;

  constructor(
    private readonly locks: LockManagerLike,
    private readonly name: string,
  ) {}

  start(lead: () => void): void {
    this.release = holdLock(this.locks, `${this.name}:leader`, lead);
  }

  alive(): void {}

  leaderLeft(): void {}

  close(): void {
    this.release?.();
  }
}

/**
 * The fallback without Web Locks (old browsers, pages on insecure origins): the leader sends a
 * heartbeat every `BEAT_MS`; a tab that has heard no leader for `SILENCE_MS` (or for one beat on
 * start, or at once when the leader says goodbye) claims the lead with a higher term. Two tabs
 * claiming at once both lead for a moment; the facade makes the worse one step down.
 */
export class BeaconElection implements Election {
  private lastHeard = Date.now();
  private heardAny = false;
  private timer: ReturnType<typeof setInterval> | undefined;
  private claim: ReturnType<typeof setTimeout> | undefined;
  private lead: () => void = () => {};

  constructor(
    private readonly leading: () => boolean,
    private readonly beat: () => void,
  ) {}

  start(lead: () => void): void {
    this.lead = lead;
    this.timer = setInterval(() => this.tick(), BEAT_MS);
  }

  alive(): void {
    this.heardAny = true;
    this.lastHeard = Date.now();
  }

  leaderLeft(): void {
    this.lastHeard = 0;
    this.claim = setTimeout(() => {
      if (!this.leading() && this.lastHeard === 0) this.lead();
    }, Math.random() * CLAIM_JITTER_MS);
  }

  close(): void {
    clearInterval(this.timer);
    clearTimeout(this.claim);
  }

  private tick(): void {
    if (this.leading()) this.beat();
    else if (Date.now() - this.lastHeard > (this.heardAny ? SILENCE_MS : BEAT_MS / 2)) this.lead();
  }
}
