import type { ResolvedEntity } from './options.js';
import type { Subscriber } from './subscription.js';
import type { ViewContext } from './types.js';

/** Whether `entity` changes values before they are encoded (a `view`, or fields to `redact`). */
export function shapes(entity: ResolvedEntity): boolean {
  return entity.view !== undefined || (entity.redact?.length ?? 0) > 0;
}

/** The audience a subscriber belongs to for `entity`'s view: one encoding per audience. */
export function audienceOf(entity: ResolvedEntity, owner: Subscriber): string {
  if (entity.view === undefined) return '';
  if (entity.viewBy === 'secret') return owner.secret;
  return owner.user === null ? '' : `u:${owner.user.id}`;
}

/** `values` as `owner`'s audience sees them: fields redacted for everyone, then the view. */
export function shape(entity: ResolvedEntity, values: readonly unknown[], owner: Subscriber): unknown[] {
  const ctx: ViewContext = { secret: owner.secret, user: owner.user };
  const fields = entity.redact;
  return values.map((value) => {
    const redacted = fields === undefined || fields.length === 0 ? value : redact(value, fields);
    return entity.view === undefined ? redacted : entity.view(redacted, ctx);
  });
}

/** Removes `fields` from an object, or from each object of an array; other values pass. */
export function redact(value: unknown, fields: readonly string[]): unknown {
  if (Array.isArray(value)) return value.map((item) => redact(item, fields));
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value)) return value;
  const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const field of fields) delete copy[field];
  return copy;
}
