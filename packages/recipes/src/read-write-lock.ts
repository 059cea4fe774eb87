/**
 * A fair read-write lock (ZooKeeper's shared-lock recipe) on one queue of `read-` and `write-`
 * znodes: a reader waits only for the nearest writer ahead of it, a writer for whoever is just
 * ahead. Readers share; a writer excludes everyone; arrival order is kept (no writer
 * starvation). Both locks are `Mutex`es (re-entrant per instance, fenced leases, loss on
 * suspension), so the mutex's guarantee and expiry behaviour hold for each.
 *
 * A write lease's fencing token rises from writer to writer; read leases' tokens are ordered
 * among writers' (a reader's token is above the writer before it and below the one after).
 */
import type { Session } from '@cairn/node';
import type { BlockersOf, QueueKind } from './internal/turn.js';
import { predecessor } from './internal/turn.js';
import { Mutex, type MutexOptions } from './mutex.js';

const lastWriterBefore: BlockersOf = (names, index) => {
  for (let i = index - 1; i >= 0; i--)
    if (names[i]?.startsWith('write-')) return [names[i] as string];
  return [];
};

const READ: QueueKind = {
  prefix: 'read-',
  prefixes: ['read-', 'write-'],
  blockersOf: lastWriterBefore,
};
const WRITE: QueueKind = {
  prefix: 'write-',
  prefixes: ['read-', 'write-'],
  blockersOf: predecessor,
};

export class ReadWriteLock {
  readonly readLock: Mutex;
  readonly writeLock: Mutex;
  constructor(
    session: Session,
    readonly path: string,
    options: MutexOptions = {},
  ) {
    this.readLock = new Mutex(session, path, options, READ);
    this.writeLock = new Mutex(session, path, options, WRITE);
  }
}
