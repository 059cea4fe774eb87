import type { Id } from './types.js';
import type { ZNode } from './znode.js';

/**
 * The tree digest (ZooKeeper's `digest.enabled`, an adHash): the sum, modulo 2^32, of a hash of
 * every node's path, data and Stat, kept up to date change by change (subtract the old hash,
 * add the new one). Replicas that applied the same log have the same digest; comparing two
 * numbers is how tests and the simulator check "same tree, byte for byte" cheaply.
 */
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

function mixNumber(hash: number, value: number): number {
  // Two 32-bit halves of a safe integer (times and zxids exceed 2^32).
  const low = value >>> 0;
  const high = Math.floor(value / 0x1_0000_0000) >>> 0;
  let h = hash;
  for (const part of [low, high]) {
    for (let shift = 0; shift < 32; shift += 8) {
      h ^= (part >>> shift) & 0xff;
      h = Math.imul(h, FNV_PRIME);
    }
  }
  return h;
}

function mixString(hash: number, text: string): number {
  let h = hash;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME);
  }
  return h;
}

/** FNV-1a over a node's path, data and every Stat field, finished with a murmur-style mix. */
export function hashNode(path: string, node: ZNode): number {
  let h = mixString(FNV_OFFSET, path);
  const data = node.data;
  for (let i = 0; i < data.length; i++) {
    h ^= data[i] as number;
    h = Math.imul(h, FNV_PRIME);
  }
  h = mixNumber(h, data.length);
  h = mixNumber(h, node.czxid);
  h = mixNumber(h, node.mzxid);
  h = mixNumber(h, node.pzxid);
  h = mixNumber(h, node.ctime);
  h = mixNumber(h, node.mtime);
  h = mixNumber(h, node.version);
  h = mixNumber(h, node.cversion);
  h = mixNumber(h, node.aversion);
  h = mixNumber(h, node.children?.size ?? 0);
  h = mixNumber(h, Number(BigInt.asUintN(32, node.ephemeralOwner)));
  h = mixNumber(h, Number(BigInt.asUintN(32, node.ephemeralOwner >> 32n)));
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

/**
 * A session's share of the digest: its id, timeout and authenticated ids, in the order added
 * (they decide ACL checks, so replicas must agree on them; its ephemerals are in the node hashes).
 */
export function hashSession(id: bigint, timeoutMs: number, authIds: readonly Id[]): number {
  let h = mixNumber(FNV_OFFSET, Number(BigInt.asUintN(32, id)));
  h = mixNumber(h, Number(BigInt.asUintN(32, id >> 32n)));
  h = mixNumber(h, timeoutMs);
  for (const authId of authIds) {
    // Lengths first, so ("ab", "c") and ("a", "bc") differ.
    h = mixNumber(h, authId.scheme.length);
    h = mixNumber(h, authId.id.length);
    h = mixString(h, authId.scheme);
    h = mixString(h, authId.id);
  }
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return (h ^ (h >>> 12)) >>> 0;
}
