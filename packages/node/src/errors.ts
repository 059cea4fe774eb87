import { CairnError, type CairnErrorOptions, isCairnError } from '@cairn/znode';

export type NodeErrorCode = 'ConfigInvalid' | 'NodeClosed' | 'NotMember';

/** A misuse of the node itself (bad options, a call after close): not a ZooKeeper operating error. */
export class NodeError extends Error {
  override readonly name = 'NodeError';
  constructor(
    readonly code: NodeErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A resumable watch asked for changes after a zxid the node no longer holds (older than its
 * watch history): re-read the state, then watch from the zxid of that read.
 */
export class CompactedError extends Error {
  override readonly name = 'CompactedError';
  readonly code = 'Compacted';
  constructor(
    readonly fromZxid: number,
    /** The oldest zxid a watch may resume from now. */
    readonly oldestZxid: number,
  ) {
    super(
      `changes after zxid ${fromZxid} are no longer held; the history starts after ${oldestZxid}`,
    );
  }
}

export { CairnError, type CairnErrorOptions, isCairnError };
