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
/** FNV_PRIME to the 4th power modulo 2^32: four FNV steps over zero bytes in one multiply. */
const FNV_PRIME_POW4 = Math.imul(Math.imul(FNV_PRIME, FNV_PRIME), Math.imul(FNV_PRIME, FNV_PRIME));

/**
 * FNV-1a over the two 32-bit halves of a safe integer (times and zxids exceed 2^32), low half
 * first, each low byte first. Written out without a loop over `[low, high]`: that array was an
 * allocation per field, a dozen per node hashed, on every write.
 */
function mixNumber(hash: number, value: number): number {
  return mixWord(mixWord(hash, value >>> 0), Math.floor(value / 0x1_0000_0000) >>> 0);
}

/**
 * FNV-1a over the four bytes of a 32-bit word, low byte first. Most words hashed are small
 * (versions, child counts, the high halves of zxids and times are 0), and the bytes above the
 * first are then zero: XOR with zero changes nothing, and multiplication modulo 2^32 is
 * associative, so those steps fold into one multiply by FNV_PRIME^4. Same value, a quarter of
 * the work.
 */
function mixWord(hash: number, word: number): number {
  if (word >>> 8 === 0) return Math.imul(hash ^ word, FNV_PRIME_POW4);
  let h = Math.imul(hash ^ (word & 0xff), FNV_PRIME);
  h = Math.imul(h ^ ((word >>> 8) & 0xff), FNV_PRIME);
  h = Math.imul(h ^ ((word >>> 16) & 0xff), FNV_PRIME);
  return Math.imul(h ^ (word >>> 24), FNV_PRIME);
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
  h = mixOwner(h, node.ephemeralOwner);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

/**
 * The two 32-bit halves of a 64-bit owner (a session id, or a container or TTL marker), low
 * first. Most nodes have none (0n); that case skips the BigInt arithmetic, which allocates a
 * new BigInt per operation, and mixes the same two zero halves.
 */
function mixOwner(hash: number, owner: bigint): number {
  if (owner === 0n) return mixNumber(mixNumber(hash, 0), 0);
  const h = mixNumber(hash, Number(BigInt.asUintN(32, owner)));
  return mixNumber(h, Number(BigInt.asUintN(32, owner >> 32n)));
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
