/**
 * The `ip` ACL scheme, as ZooKeeper's `IPAuthenticationProvider` (3.9.4, with IPv6) reads it:
 * an entry is `addr` or `addr/bits`, and a session's `ip` id (its client address) matches when
 * both agree on the first `bits` bits. A text with a `:` is IPv6, else one with a `.` is IPv4,
 * else it is no address. IPv4 and IPv6 never match each other.
 *
 * Stricter than Java in one way: numbers are ASCII digits only (hex digits for IPv6 groups),
 * where Java's `Integer.parseInt` also takes a leading `+`/`-` and non-ASCII digits, so
 * ZooKeeper accepts `+10.0.0.1` and `10.0.0.1/+8`. Cairn answers InvalidACL to those.
 */

/** A parsed `ip` ACL entry: 4 or 16 address bytes and the prefix length. */
export interface IpPrefix {
  readonly bytes: readonly number[];
  readonly bits: number;
}

const IPV4_BYTES = 4;
const IPV6_BYTES = 16;
const IPV6_GROUPS = 8;
const DECIMAL = /^[0-9]+$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/** The entry `addr[/bits]` parsed, or `null` if ZooKeeper's `isValid` would refuse it. */
export function parseIpAcl(expression: string): IpPrefix | null {
  const slash = expression.indexOf('/');
  const bytes = addressBytes(slash < 0 ? expression : expression.slice(0, slash));
  if (bytes === null) return null;
  if (slash < 0) return { bytes, bits: bytes.length * 8 };
  const bitsText = expression.slice(slash + 1);
  if (!DECIMAL.test(bitsText)) return null;
  const bits = Number(bitsText);
  return bits <= bytes.length * 8 ? { bytes, bits } : null;
}

/** Whether the entry `expression` is a valid `ip` ACL id. */
export function isValidIpAcl(expression: string): boolean {
  return parseIpAcl(expression) !== null;
}

/** Whether the client address `address` falls in the entry `expression` (IPAuthenticationProvider.matches). */
export function ipAclMatches(address: string, expression: string): boolean {
  const prefix = parseIpAcl(expression);
  if (prefix === null) return false;
  const remote = addressBytes(address);
  if (remote === null || remote.length !== prefix.bytes.length) return false;
  for (let i = 0; i < remote.length; i++) {
    const mask = byteMask(prefix.bits - i * 8);
    if (((remote[i] ?? 0) & mask) !== ((prefix.bytes[i] ?? 0) & mask)) return false;
  }
  return true;
}

/** The bytes of an IPv4 or IPv6 address, or `null`. */
export function addressBytes(text: string): number[] | null {
  if (text.includes(':')) return ipv6Bytes(text);
  if (text.includes('.')) return ipv4Bytes(text);
  return null;
}

/** The mask for a byte with `bitsLeft` prefix bits still to keep. */
function byteMask(bitsLeft: number): number {
  if (bitsLeft >= 8) return 0xff;
  if (bitsLeft <= 0) return 0;
  return (0xff << (8 - bitsLeft)) & 0xff;
}

/** Four decimal numbers 0–255 separated by `.` (leading zeros are decimal, as in Java). */
function ipv4Bytes(text: string): number[] | null {
  const parts = text.split('.');
  if (parts.length !== IPV4_BYTES) return null;
  const bytes: number[] = [];
  for (const part of parts) {
    if (!DECIMAL.test(part)) return null;
    const value = Number(part);
    if (value > 255) return null;
    bytes.push(value);
  }
  return bytes;
}

/**
 * Eight groups of 1–4 hex digits, or fewer around a single `::` that stands for at least one
 * zero group. No embedded IPv4 (`::ffff:1.2.3.4`) and no zone (`%eth0`), as in ZooKeeper.
 */
function ipv6Bytes(text: string): number[] | null {
  const halves = text.split('::');
  const [head = '', tail = ''] = halves;
  if (halves.length > 2) return null;
  const headGroups = head === '' ? [] : head.split(':');
  if (halves.length === 1) {
    return headGroups.length === IPV6_GROUPS ? groupBytes(headGroups) : null;
  }
  const tailGroups = tail === '' ? [] : tail.split(':');
  if (headGroups.length + tailGroups.length >= IPV6_GROUPS) return null;
  const headBytes = groupBytes(headGroups);
  const tailBytes = groupBytes(tailGroups);
  if (headBytes === null || tailBytes === null) return null;
  const zeros = new Array<number>(IPV6_BYTES - headBytes.length - tailBytes.length).fill(0);
  return [...headBytes, ...zeros, ...tailBytes];
}

function groupBytes(groups: readonly string[]): number[] | null {
  const bytes: number[] = [];
  for (const group of groups) {
    if (!HEX_GROUP.test(group)) return null;
    const value = Number.parseInt(group, 16);
    bytes.push(value >> 8, value & 0xff);
  }
  return bytes;
}
