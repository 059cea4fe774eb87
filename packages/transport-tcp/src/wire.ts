import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { TransportError } from './errors.js';
import { FRAME_HEADER_BYTES } from './frame-decoder.js';

/**
 * The peer wire protocol, version 4. Every frame is a 4-byte big-endian length, then a payload
 * whose first byte is its kind:
 *
 *   Challenge  acceptor -> dialer, first frame: JSON {version, clusterId, nodeId, incarnation,
 *              nonce}
 *   Hello      dialer -> acceptor, first frame: JSON {version, clusterId, nodeId, to,
 *              incarnation, latest, nonce, proof}
 *   Welcome    acceptor -> dialer, once the Hello passed: JSON {proof}; the dialer sends
 *              nothing else until it has checked it
 *   Message    either way: the core's codec bytes of one message (`encodeMessage`: its own
 *              format version byte, then binary Append, AppendResponse, Heartbeat and
 *              HeartbeatResponse bodies, msgpack for the rest)
 *   SnapBegin  either way: u32 stream id, f64 total data bytes, then the codec bytes of the
 *              Snapshot message with empty `snapshot.data`
 *   SnapChunk  either way: u32 stream id, then the next slice of `snapshot.data`
 *
 * One connection per pair of members, carrying both directions: the lower node id dials it
 * (a "connect"). The higher id never carries messages on a connection it dialed: when it has
 * messages and no connection it dials only to ask for one (a "solicit": a Hello from the higher
 * id, answered by a Welcome, then closed), and the lower id then dials. `incarnation` is a fresh
 * random id of each transport instance; `latest` (solicits only, else null) is the Challenge
 * nonce of the last connection the soliciting node took from this peer in this incarnation.
 * With them the lower id tells a solicit from a peer that lost its connection (same
 * incarnation, `latest` names the connection it holds) or restarted (another incarnation),
 * after which it drops what it holds and dials, from one that crossed its newer dial (ignored).
 *
 * With a cluster secret both ends prove they hold it (`handshakeProof`): the dialer's proof
 * covers the acceptor's fresh nonce, the acceptor's covers the dialer's, and each names its
 * role, sender and receiver. The secret never crosses the wire, a recorded Hello or Welcome
 * fails on the next connection (the other side's nonce is new), and one side's proof cannot
 * be reflected back as the other's. Without a secret both proofs are null.
 *
 * Version 3 had one connection per direction (the dialer alone sent messages); version 2 had
 * no Welcome (only the dialer proved the secret); version 1 carried bare msgpack maps. Both
 * ends refuse another version in the handshake, so a mixed cluster reports `HandshakeRefused`
 * naming it instead of failing later.
 */
export const WIRE_VERSION = 4;

export const FrameKind = {
  Challenge: 1,
  Hello: 2,
  Message: 3,
  SnapBegin: 4,
  SnapChunk: 5,
  Welcome: 6,
} as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

/** Bytes of random nonce in a Challenge. */
const NONCE_BYTES = 16;
/** Handshake frames are tiny; anything larger is refused before parsing. */
export const HANDSHAKE_BYTES_MAX = 4096;

export interface Challenge {
  version: number;
  clusterId: string;
  nodeId: number;
  /** The acceptor's transport instance, a fresh random id per process start. */
  incarnation: string;
  nonce: string;
}

export interface Hello {
  version: number;
  clusterId: string;
  nodeId: number;
  to: number;
  /** The dialer's transport instance (see `Challenge.incarnation`). */
  incarnation: string;
  /**
   * In a solicit (a Hello from the higher id): the Challenge nonce of the last connection the
   * dialer took from `to` in this incarnation, or null if none. Null in a connect.
   */
  latest: string | null;
  /** The dialer's fresh nonce, which the acceptor's Welcome proof must cover. */
  nonce: string;
  proof: string | null;
}

export interface Welcome {
  proof: string | null;
}

/** What one side's proof binds: both nonces, the cluster, who proves and to whom. */
export interface ProofContext {
  challengeNonce: string;
  helloNonce: string;
  clusterId: string;
  /** The node proving it holds the secret. */
  from: number;
  /** The node checking the proof. */
  to: number;
}

/** The 4-byte length prefix and the kind byte of a frame whose body is `bodyBytes` long. */
export function frameHead(kind: FrameKind, bodyBytes: number, extraHead = 0): Buffer {
  const head = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 1 + extraHead);
  head.writeUInt32BE(1 + extraHead + bodyBytes, 0);
  head.writeUInt8(kind, FRAME_HEADER_BYTES);
  return head;
}

/** A complete frame in one buffer (handshakes and tests; the hot path writes head and body). */
export function frame(kind: FrameKind, body: Uint8Array): Buffer {
  return Buffer.concat([frameHead(kind, body.length), body]);
}

export function newNonce(): string {
  return randomBytes(NONCE_BYTES).toString('hex');
}

/** HMAC-SHA256 of the secret over the role and context; `role` keeps the two proofs apart. */
export function handshakeProof(
  secret: string,
  role: 'hello' | 'welcome',
  context: ProofContext,
): string {
  const { challengeNonce, helloNonce, clusterId, from, to } = context;
  return createHmac('sha256', secret)
    .update(`cairn-${role}|${challengeNonce}|${helloNonce}|${clusterId}|${from}|${to}`)
    .digest('hex');
}

export function proofMatches(expected: string, actual: string | null): boolean {
  if (actual === null) return false;
  const a = Buffer.from(expected, 'hex');
  const b = Buffer.from(actual, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

export function encodeJson(kind: FrameKind, value: Challenge | Hello | Welcome): Buffer {
  return frame(kind, Buffer.from(JSON.stringify(value), 'utf8'));
}

function parseJson(payload: Buffer, kind: FrameKind, what: string): Record<string, unknown> {
  if (payload.length < 1 || payload[0] !== kind) {
    throw new TransportError('HandshakeRefused', `expected a ${what} frame first`);
  }
  if (payload.length > HANDSHAKE_BYTES_MAX) {
    throw new TransportError('HandshakeRefused', `${what} frame over ${HANDSHAKE_BYTES_MAX} bytes`);
  }
  let value: unknown;
  try {
    value = JSON.parse(payload.subarray(1).toString('utf8'));
  } catch (error) {
    throw new TransportError('HandshakeRefused', `${what} is not JSON`, { cause: error });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TransportError('HandshakeRefused', `${what} is not an object`);
  }
  return value as Record<string, unknown>;
}

function field<T>(value: unknown, check: (v: unknown) => v is T, what: string): T {
  if (!check(value)) throw new TransportError('HandshakeRefused', `bad handshake field ${what}`);
  return value;
}
const isString = (v: unknown): v is string => typeof v === 'string' && v.length <= 256;
const isId = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
const isProof = (v: unknown): v is string | null => v === null || isString(v);
/** At least 128 bits in hex: a peer cannot weaken the other side's freshness with a short one. */
const isNonce = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{32,64}$/.test(v);
const isLatest = (v: unknown): v is string | null => v === null || isNonce(v);

export function decodeChallenge(payload: Buffer): Challenge {
  const v = parseJson(payload, FrameKind.Challenge, 'Challenge');
  return {
    version: field(v.version, isId, 'version'),
    clusterId: field(v.clusterId, isString, 'clusterId'),
    nodeId: field(v.nodeId, isId, 'nodeId'),
    incarnation: field(v.incarnation, isNonce, 'incarnation'),
    nonce: field(v.nonce, isNonce, 'nonce'),
  };
}

export function decodeHello(payload: Buffer): Hello {
  const v = parseJson(payload, FrameKind.Hello, 'Hello');
  return {
    version: field(v.version, isId, 'version'),
    clusterId: field(v.clusterId, isString, 'clusterId'),
    nodeId: field(v.nodeId, isId, 'nodeId'),
    to: field(v.to, isId, 'to'),
    incarnation: field(v.incarnation, isNonce, 'incarnation'),
    latest: field(v.latest, isLatest, 'latest'),
    nonce: field(v.nonce, isNonce, 'nonce'),
    proof: field(v.proof, isProof, 'proof'),
  };
}

export function decodeWelcome(payload: Buffer): Welcome {
  const v = parseJson(payload, FrameKind.Welcome, 'Welcome');
  return { proof: field(v.proof, isProof, 'proof') };
}
