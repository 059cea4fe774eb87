export {
  TransportError,
  type TransportErrorCode,
  type TransportEvent,
  type TransportEventListener,
} from './errors.js';
export {
  type LinkFaults,
  MemoryNetwork,
  type MemoryNetworkOptions,
  MemoryTransport,
} from './memory-network.js';
export {
  FRAME_BYTES_MAX_DEFAULT,
  QUEUE_BYTES_MAX_DEFAULT,
  QUEUE_MESSAGES_MAX_DEFAULT,
  SNAPSHOT_CHUNK_BYTES_DEFAULT,
  type TcpTransportOptions,
  type Timers,
  type TlsOptions,
} from './options.js';
export { TcpTransport } from './tcp-transport.js';
