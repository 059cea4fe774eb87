/**
 * The queue under every lock, semaphore and election: an ephemeral-sequential znode per
 * contender in one folder, ordered by sequence number (creation order). A contender's turn comes
 * when `blockersOf` names nobody ahead of it; until then it watches only those blockers (one
 * exists watch each), so a release wakes the contenders it concerns and no herd.
 *
 * Reads are local. A local view is never missing a znode created before ours (our create was
 * applied here first), and may only still show ones already deleted, so a stale read can delay
 * a turn but never grant one early.
 */
import type { Session } from '@cairn/node';
import { NoNodeError } from '@cairn/node';
import { deleteQuietly } from '../lease.js';
import { ensurePath, join, sortBySequence, untilAnyGone, untilConnected } from './util.js';

/** Given the contenders in order and our index, the names we must wait for (none: our turn). */
export type BlockersOf = (names: readonly string[], index: number) => readonly string[];

export interface QueueKind {
  /** The name prefix of this kind of contender (`lock-`, `read-`, …). */
  readonly prefix: string;
  /** Every prefix that takes part in the same queue. */
  readonly prefixes: readonly string[];
  readonly blockersOf: BlockersOf;
}

/** Only the contender just ahead: a mutex, a write lock, an election. */
export const predecessor: BlockersOf = (names, index) =>
  index === 0 ? [] : [names[index - 1] as string];

export interface Turn {
  readonly path: string;
  readonly czxid: number;
}

/**
 * Enters the queue in `dir` and waits for our turn (and a connected session). On any failure,
 * abort or timeout our znode is deleted again before the error is thrown.
 */
export async function takeTurn(
  session: Session,
  dir: string,
  kind: QueueKind,
  data: Uint8Array,
  signal: AbortSignal,
): Promise<Turn> {
  signal.throwIfAborted();
  await ensurePath(session, dir);
  const created = await session.create2(join(dir, kind.prefix), data, {
    mode: 'ephemeral-sequential',
  });
  const mine = created.path.slice(created.path.lastIndexOf('/') + 1);
  try {
    for (;;) {
      signal.throwIfAborted();
      const names = sortBySequence((await session.getChildren(dir)).children, kind.prefixes);
      const index = names.indexOf(mine);
      if (index < 0) throw new NoNodeError(created.path);
      const blockers = kind.blockersOf(names, index);
      if (blockers.length === 0) break;
      await untilAnyGone(
        session,
        blockers.map((name) => join(dir, name)),
        signal,
      );
    }
    await untilConnected(session, signal);
    return { path: created.path, czxid: created.stat.czxid };
  } catch (error) {
    await deleteQuietly(session, created.path);
    throw error;
  }
}
