/**
 * Why a connection was refused or closed, or a message dropped. These are operating errors
 * (STYLE.md §7): each one fails one connection or one message, never the node.
 */
export type TransportErrorCode =
  /** Handshake named another cluster, an unknown or unexpected node, a bad secret or version. */
  | 'HandshakeRefused'
  /** A length prefix of zero or above `frameBytesMax`; the claimed length is never allocated. */
  | 'FrameTooLarge'
  /** A frame that does not decode (the codec's `CodecError`), or arrives out of protocol order. */
  | 'MarshallingError'
  /** The peer closed, reset or never answered; the link reconnects with backoff. */
  | 'ConnectionLoss'
  /** A per-peer send queue was full; the message named in the event was dropped. */
  | 'QueueFull'
  /** A message for a node that is not in `peers`. */
  | 'UnknownPeer'
  /** The TLS layer refused the peer's certificate (or the peer refused ours). */
  | 'TlsRefused'
  /** The options given to the constructor are not usable. */
  | 'ConfigInvalid';

/** A typed transport failure; check `code`, never `instanceof` across packages. */
export class TransportError extends Error {
  override readonly name = 'TransportError';
  readonly code: TransportErrorCode;
  constructor(code: TransportErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/**
 * What the transport reports about itself: the "logged reason" of every refused or closed
 * connection and every dropped message. The default listener ignores them; a runtime passes
 * its logger, tests collect them.
 */
export interface TransportEvent {
  readonly code: TransportErrorCode;
  /** The peer node id, when known (it is not, before a handshake completes). */
  readonly peer: number | null;
  /** `inbound`: a connection the peer dialed; `outbound`: one this node dialed. */
  readonly direction: 'inbound' | 'outbound' | 'none';
  readonly detail: string;
}

export type TransportEventListener = (event: TransportEvent) => void;
