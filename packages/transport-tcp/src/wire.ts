import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { TransportError } from './errors.js';
import { FRAME_HEADER_BYTES } from './frame-decoder.js';

/**
 * The peer wire protocol, version 2. Every frame is a 4-byte big-endian length, then a payload
 * whose first byte is its kind:
 *
 *   Challenge  acceptor -> dialer, first frame: JSON {version, clusterId, nodeId, nonce}
 *   Hello      dialer -> acceptor, first frame: JSON {version, clusterId, nodeId, to, proof}
 *   Message    dialer -> acceptor: the core's codec bytes of one message (`encodeMessage`:
 *              its own format version byte, then binary Append, AppendResponse, Heartbeat and
 *              HeartbeatResponse bodies, msgpack for the rest)
 *   SnapBegin  u32 stream id, f64 total data bytes, then the codec bytes of the Snapshot message
 *              with empty `snapshot.data`
 *   SnapChunk  u32 stream id, then the next slice of `snapshot.data`
 *
 * `proof` is HMAC-SHA256(secret, nonce|clusterId|nodeId|to) when a cluster secret is set, so
 * the secret never crosses the wire and a recorded Hello cannot be replayed (fresh nonce).
 */
/**
 * Version 2: message bodies carry the codec's format version and binary layouts (version 1
 * carried bare msgpack maps). Both ends refuse another version in the handshake, so a mixed
 * cluster reports `HandshakeRefused` naming it instead of a `MarshallingError` per message.
 */
export const WIRE_VERSION = 2;

export const FrameKind = {
  Challenge: 1,
  Hello: 2,
  Message: 3,
  SnapBegin: 4,
  SnapChunk: 5,
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
  nonce: string;
}

export interface Hello {
  version: number;
  clusterId: string;
  nodeId: number;
  to: number;
  proof: string | null;
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

export function helloProof(secret: string, nonce: string, hello: Omit<Hello, 'proof'>): string {
  return createHmac('sha256', secret)
    .update(`${nonce}|${hello.clusterId}|${hello.nodeId}|${hello.to}`)
    .digest('hex');
}

export function proofMatches(expected: string, actual: string | null): boolean {
  if (actual === null) return false;
  const a = Buffer.from(expected, 'hex');
  const b = Buffer.from(actual, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

export function encodeJson(kind: FrameKind, value: Challenge | Hello): Buffer {
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

export function decodeChallenge(payload: Buffer): Challenge {
  const v = parseJson(payload, FrameKind.Challenge, 'Challenge');
  return {
    version: field(v.version, isId, 'version'),
    clusterId: field(v.clusterId, isString, 'clusterId'),
    nodeId: field(v.nodeId, isId, 'nodeId'),
    nonce: field(v.nonce, isString, 'nonce'),
  };
}

export function decodeHello(payload: Buffer): Hello {
  const v = parseJson(payload, FrameKind.Hello, 'Hello');
  return {
    version: field(v.version, isId, 'version'),
    clusterId: field(v.clusterId, isString, 'clusterId'),
    nodeId: field(v.nodeId, isId, 'nodeId'),
    to: field(v.to, isId, 'to'),
    proof: field(v.proof, isProof, 'proof'),
  };
}
