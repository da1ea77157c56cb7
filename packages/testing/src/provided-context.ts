declare module 'vitest' {
  /** What `global-setup.ts` hands to integration tests through `inject()`. */
  export interface ProvidedContext {
    /** `redis://127.0.0.1:<port>` of the run's shared redis-server. */
    redisUrl: string;
    /** `nats://127.0.0.1:<port>` of the run's shared nats-server. */
    natsUrl: string;
  }
}

export {};
