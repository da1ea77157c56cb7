import type { Subscription } from './subscription.js';
import type { AuthorizeHandler, ClientId, User } from './types.js';

/** An answer of `authorize`, and the secret generation of the connection it was given under. */
export interface Decision {
  allowed: boolean;
  generation: number;
}

/** What authorization needs of a connection. */
export interface Principal {
  readonly id: ClientId;
  readonly secret: string;
  readonly generation: number;
  readonly user: User | null;
  /** Pending while `identify` runs for the current secret. */
  readonly identity: Promise<void> | undefined;
}

/**
 * Asks the entity's `authorize` hook about `sub` for `owner`'s current secret (and user, once
 * `identify` answered), again if the secret changed while the hook ran. Without a hook and with
 * the user known, the key is allowed at once (synchronously). A throwing or rejecting hook gives
 * its error.
 */
export function authorize(sub: Subscription, owner: Principal): Decision | Promise<Decision | Error> {
  const hook = sub.entity.authorize;
  if (hook === undefined && owner.identity === undefined) return { allowed: true, generation: owner.generation };
  return ask(sub, owner, hook);
}

async function ask(sub: Subscription, owner: Principal, hook: AuthorizeHandler | undefined): Promise<Decision | Error> {
  for (;;) {
    if (owner.identity !== undefined) await owner.identity;
    const generation = owner.generation;
    if (hook === undefined) return { allowed: true, generation };
    let allowed: boolean;
    try {
      allowed = (await hook(sub.key, { secret: owner.secret, clientId: owner.id, user: owner.user })) === true;
    } catch (cause) {
      return cause instanceof Error ? cause : new Error(String(cause));
    }
    if (generation === owner.generation && owner.identity === undefined) return { allowed, generation };
  }
}

/**
 * Asks until the answer holds for `owner`'s current secret: a secret change while something
 * else was awaited (the bus confirmation of a subscribe) makes an earlier answer void.
 */
export async function authorizeCurrent(sub: Subscription, owner: Principal, first: Decision | Error): Promise<Decision | Error> {
  let decision = first;
  while (!sub.removed && !(decision instanceof Error) && decision.generation !== owner.generation) {
    decision = await authorize(sub, owner);
  }
  return decision;
}
