import type { FetchTask } from './fetch-scheduler.js';
import { type EntityKey, keyProblem, type Tag, tagProblem } from './keys.js';
import type { ResolvedEntity } from './options.js';
import type { Subscription } from './subscription.js';
import type { ClientId, FetchContext, User } from './types.js';

/**
 * One call of an entity's fetch handler: the context it receives (`ctx`) and the task the
 * scheduler runs. Its abort signal is made only if the handler asks for it, since most handlers
 * never do and a fetch runs for every change.
 */
export class FetchCall implements FetchContext, FetchTask {
  /** Values sent through `ctx.send`, in order; the returned value comes after them. */
  readonly values: unknown[] = [];
  readonly secret: string;
  readonly clientId?: ClientId;
  readonly user: User | null;
  /** What the handler declared it depends on, through `ctx.dependsOn`. */
  readonly dependencies: Array<Tag | EntityKey> = [];
  /** When the call started (`performance.now()`), for the `fetch` event. */
  readonly startedAt = performance.now();
  #controller: AbortController | undefined;
  #finished = false;

  /**
   * The context of a fetch for `representative`'s group (design section 4): `shared` scope gets
   * no secret and no user, `client` scope the connection's id, secret and user, `secret` and
   * `user` scopes the secret and user of one member of the group.
   */
  constructor(
    private readonly entity: ResolvedEntity,
    private readonly key: EntityKey,
    representative: Subscription,
  ) {
    const { scope } = entity;
    this.secret = scope === 'shared' ? '' : representative.owner.secret;
    this.user = scope === 'shared' ? null : representative.owner.user;
    if (scope === 'client') this.clientId = representative.owner.id;
  }

  dependsOn(dependency: Tag | EntityKey): void {
    const problem =
      typeof dependency === 'object' && dependency !== null && 'tag' in dependency
        ? tagProblem(dependency.tag)
        : isKey(dependency)
          ? keyProblem(dependency)
          : 'dependsOn takes { tag } or a key { entity, id }';
    if (problem !== undefined) throw new TypeError(`ctx.dependsOn: ${problem}`);
    if (!this.#finished) this.dependencies.push(dependency);
  }

  get entityName(): string {
    return this.key.entity;
  }

  run(): unknown {
    return this.entity.fetch(this.key, this);
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#finished) this.#controller.abort();
    }
    return this.#controller.signal;
  }

  send(value: unknown): void {
    if (!this.#finished && value !== undefined) this.values.push(value);
  }

  /** The call is over (settled, timed out or the node closed): later sends are ignored. */
  finish(): void {
    this.#finished = true;
    this.#controller?.abort();
  }
}

/** The member of a fetch group whose secret a fetch uses: the first active one, if any. */
export function representative(members: Iterable<Subscription>): Subscription | undefined {
  for (const sub of members) if (sub.state === 'active') return sub;
  return undefined;
}

function isKey(value: unknown): value is EntityKey {
  const key = value as EntityKey | null;
  return typeof key === 'object' && key !== null && typeof key.entity === 'string' && typeof key.id === 'string';
}
