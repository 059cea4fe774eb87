// Runs the `Transport` conformance suite from `@cairn/raft` unchanged against both
// implementations in this package: the memory twin (settled by delivering rounds) and the TCP
// transport (three real transports on 127.0.0.1 in this process, settled by yielding to the event
// loop). Passing it is what lets the node runtime treat them as interchangeable.
import type { NodeId, Transport } from '@cairn/raft';
import { runTransportSuite } from '@cairn/raft/testing';
import { describe, expect, it } from 'vitest';
import { MemoryNetwork, TcpTransport } from '../src/index.js';
import { freePorts, LOOPBACK, pause } from './helpers.js';

runTransportSuite({ describe, it, expect }, 'MemoryTransport', {
  async create(ids) {
    const network = new MemoryNetwork();
    const transports = new Map<NodeId, Transport>();
    for (const id of ids) transports.set(id as NodeId, network.transport(id));
    return {
      transports,
      settle: async () => {
        network.tick();
      },
      addressOf: (id) => `memory:${id}`,
      close: async () => {
        for (const transport of transports.values()) await transport.close();
      },
    };
  },
});

runTransportSuite({ describe, it, expect }, 'TcpTransport', {
  async create(ids) {
    const ports = await freePorts(ids.length);
    const peers: Record<number, string> = {};
    ids.forEach((id, i) => {
      peers[id] = `${LOOPBACK}:${ports[i]}`;
    });
    const transports = new Map<NodeId, Transport>();
    for (const id of ids) {
      const listen = peers[id] ?? '';
      transports.set(
        id as NodeId,
        new TcpTransport({ nodeId: id, clusterId: 'suite', listen, peers, secret: 'shh' }),
      );
    }
    return {
      transports,
      settle: () => pause(5),
      addressOf: (id) => peers[id] ?? '',
      close: async () => {
        await Promise.all([...transports.values()].map((t) => t.close()));
      },
    };
  },
});
