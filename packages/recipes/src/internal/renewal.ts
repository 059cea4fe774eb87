/**
 * Session renewal for the recipes that outlive a session (caches, config values, service
 * discovery). A session that expired (or closed with its member) cannot come back: the recipe
 * asks the application's factory for a new one and carries on there, as Curator's recipes do on
 * the new ZooKeeper handle its framework makes after an expiry.
 */
import type { Session } from '@cairn/node';

/**
 * Makes a new session after `ended` has ended (expired or closed). Called once per ended
 * session by a recipe; reject to give up (the recipe then ends with that error).
 */
export type RenewSession = (ended: Session) => Promise<Session>;

/** How many new sessions in a row may end before they are usable, before a recipe gives up. */
export const RENEWALS_IN_A_ROW_MAX = 10;

/**
 * A `RenewSession` that asks `renew` once per ended session however many recipes call it, so
 * recipes that shared the old session share the new one too.
 */
export function shareSessionRenewal(renew: RenewSession): RenewSession {
  const renewed = new WeakMap<Session, Promise<Session>>();
  return (ended) => {
    let next = renewed.get(ended);
    if (next === undefined) {
      next = renew(ended);
      renewed.set(ended, next);
      next.catch(() => renewed.delete(ended));
    }
    return next;
  };
}
