/**
 * Deliberate faults planted in the simulated environment, never in the code under test, to
 * prove the checkers bite (issue 8, STYLE §9.2): with one switched on, the simulator must report
 * the rule it breaks within a bounded number of seeds. All default off; production code has no
 * hook for them.
 *
 * - `ackUnsynced` (apply before persist): the disk acknowledges a `sync` write without making it
 *   durable, so a crash loses entries, votes and terms the node already reported as persisted.
 * - `forgetVote` (vote twice in a term): the disk drops the vote from the hard state it
 *   replays after a crash, so a restarted voter may vote again in the term it already voted in.
 * - `forgeAppendAcks` (commit without quorum): the network answers every Append a member sends
 *   with a successful AppendResponse forged in the name of its target, whether or not the
 *   target got it, so a leader counts acknowledgements it never received.
 * - `lateWatchMs` (deliver a watch after the read): each watch callback reaches the client this
 *   many virtual milliseconds late, after calls the client made meanwhile have returned.
 */
export interface Plant {
  readonly ackUnsynced?: boolean;
  readonly forgetVote?: boolean;
  readonly forgeAppendAcks?: boolean;
  readonly lateWatchMs?: number;
}

/** The names of the plants, for the CLI and test tables. */
export const PLANT_NAMES = ['ackUnsynced', 'forgetVote', 'forgeAppendAcks', 'lateWatchMs'] as const;
export type PlantName = (typeof PLANT_NAMES)[number];
