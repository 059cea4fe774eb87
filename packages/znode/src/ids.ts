/**
 * Branded ids. A zxid is the Raft log index of the entry that carried the change (a strictly
 * increasing integer below 2^53; ZooKeeper clients only compare zxids). A session id is 64 bits
 * on the wire (ZooKeeper puts the server id in the high byte), so it is a `bigint` everywhere.
 */
export type Zxid = number & { readonly brand: 'Zxid' };
export type SessionId = bigint & { readonly brand: 'SessionId' };

export function zxid(value: number): Zxid {
  return value as Zxid;
}

export function sessionId(value: bigint): SessionId {
  return value as SessionId;
}

/** `ephemeralOwner` of a node that no session owns. */
export const NO_OWNER = 0n as SessionId;
