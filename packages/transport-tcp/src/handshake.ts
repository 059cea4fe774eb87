import type * as net from 'node:net';
import type * as tls from 'node:tls';
import type { NodeId } from '@cairn/raft';
import { TransportError } from './errors.js';
import { certificateMismatch } from './node-identity.js';
import type { ResolvedOptions } from './options.js';
import {
  type Challenge,
  decodeChallenge,
  decodeHello,
  decodeWelcome,
  encodeJson,
  FrameKind,
  type Hello,
  handshakeProof,
  newNonce,
  proofMatches,
  WIRE_VERSION,
} from './wire.js';

/**
 * The two halves of the handshake (wire.ts has the frames), as functions of the bytes received:
 * each checks what the other side sent and returns what to answer, or throws `TransportError`.
 * The connection that calls them owns the socket and the order.
 */

/** What a dialer remembers between its Hello and the acceptor's Welcome. */
export interface DialerNonces {
  challengeNonce: string;
  helloNonce: string;
  /** The acceptor's `Challenge.incarnation`. */
  peerIncarnation: string;
}

/** The acceptor's first frame. */
export function challengeFrame(
  options: ResolvedOptions,
  incarnation: string,
  nonce: string,
): Buffer {
  const challenge: Challenge = {
    version: WIRE_VERSION,
    clusterId: options.clusterId,
    nodeId: options.nodeId,
    incarnation,
    nonce,
  };
  return encodeJson(FrameKind.Challenge, challenge);
}

/** Dialer: checks the acceptor is node `peer` of our cluster; returns the Hello to send. */
export function answerChallenge(
  options: ResolvedOptions,
  incarnation: string,
  peer: NodeId,
  latest: string | null,
  payload: Buffer,
): { hello: Buffer; nonces: DialerNonces } {
  const challenge = decodeChallenge(payload);
  if (challenge.version !== WIRE_VERSION) {
    throw new TransportError('HandshakeRefused', `wire version ${challenge.version}`);
  }
  if (challenge.clusterId !== options.clusterId) {
    throw new TransportError(
      'HandshakeRefused',
      `peer is in cluster ${JSON.stringify(challenge.clusterId)}, not ${JSON.stringify(options.clusterId)}`,
    );
  }
  if (challenge.nodeId !== peer) {
    throw new TransportError(
      'HandshakeRefused',
      `dialed node ${peer}, reached node ${challenge.nodeId}`,
    );
  }
  const nonces = {
    challengeNonce: challenge.nonce,
    helloNonce: newNonce(),
    peerIncarnation: challenge.incarnation,
  };
  const proof =
    options.secret === null
      ? null
      : handshakeProof(options.secret, 'hello', {
          challengeNonce: nonces.challengeNonce,
          helloNonce: nonces.helloNonce,
          clusterId: options.clusterId,
          from: options.nodeId,
          to: peer,
        });
  const hello: Hello = {
    version: WIRE_VERSION,
    clusterId: options.clusterId,
    nodeId: options.nodeId,
    to: peer,
    incarnation,
    latest,
    nonce: nonces.helloNonce,
    proof,
  };
  return { hello: encodeJson(FrameKind.Hello, hello), nonces };
}

/**
 * Dialer: the acceptor's half of the mutual proof, over our fresh nonce. A server that does not
 * hold the cluster secret (or replays a Welcome it recorded) gets no message from us.
 */
export function checkWelcome(
  options: ResolvedOptions,
  peer: NodeId,
  nonces: DialerNonces,
  payload: Buffer,
): void {
  const welcome = decodeWelcome(payload);
  if (options.secret === null) return;
  const expected = handshakeProof(options.secret, 'welcome', {
    challengeNonce: nonces.challengeNonce,
    helloNonce: nonces.helloNonce,
    clusterId: options.clusterId,
    from: peer,
    to: options.nodeId,
  });
  if (!proofMatches(expected, welcome.proof)) {
    throw new TransportError('HandshakeRefused', `node ${peer}: bad secret proof`);
  }
}

/**
 * Acceptor: checks a Hello against our cluster, our members, the secret and (with TLS) the
 * client certificate; returns it with the Welcome to answer. A refusal names its reason.
 */
export function checkHello(
  options: ResolvedOptions,
  socket: net.Socket,
  challengeNonce: string,
  payload: Buffer,
): { hello: Hello; welcome: Buffer } {
  const hello = decodeHello(payload);
  const refuse = (why: string): never => {
    throw new TransportError('HandshakeRefused', why);
  };
  if (hello.version !== WIRE_VERSION) refuse(`wire version ${hello.version}`);
  if (hello.clusterId !== options.clusterId) {
    refuse(
      `node ${hello.nodeId} is in cluster ${JSON.stringify(hello.clusterId)}, not ${JSON.stringify(options.clusterId)}`,
    );
  }
  if (!options.peers.has(hello.nodeId as NodeId)) refuse(`unknown node id ${hello.nodeId}`);
  if (hello.to !== options.nodeId) {
    refuse(`Hello is for node ${hello.to}, this is ${options.nodeId}`);
  }
  const context = { challengeNonce, helloNonce: hello.nonce, clusterId: options.clusterId };
  if (options.secret !== null) {
    const expected = handshakeProof(options.secret, 'hello', {
      ...context,
      from: hello.nodeId,
      to: options.nodeId,
    });
    if (!proofMatches(expected, hello.proof)) refuse(`node ${hello.nodeId}: bad secret proof`);
  }
  if (options.tls !== null) {
    // The CA signed this certificate, but for which member? It must name the claimed id.
    const certificate = (socket as tls.TLSSocket).getPeerCertificate();
    const mismatch = certificateMismatch(certificate, hello.nodeId);
    if (mismatch !== null) {
      throw new TransportError('TlsRefused', `Hello claims node ${hello.nodeId}: ${mismatch}`);
    }
  }
  // Our half of the mutual proof: the dialer sends nothing until it has checked this.
  const proof =
    options.secret === null
      ? null
      : handshakeProof(options.secret, 'welcome', {
          ...context,
          from: options.nodeId,
          to: hello.nodeId,
        });
  return { hello, welcome: encodeJson(FrameKind.Welcome, { proof }) };
}
