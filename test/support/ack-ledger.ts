import type { ClientSocket } from './sockets.js';

/**
 * The ack packets a socket receives, by ack id, next to the ids of the events it sent. socket.io's
 * client forgets an ack callback once it has run and drops any later ack with that id, so "exactly
 * one ack" can only be counted on the wire.
 */
export interface AckLedger {
  sent: Map<number, string>;
  acks: Map<number, number>;
}

export function ackLedger(socket: ClientSocket): AckLedger {
  const ledger: AckLedger = { sent: new Map(), acks: new Map() };
  const engine = socket.io.engine;
  // socket.io packets in the default namespace: `2<id>["event",…]` (an event that wants an ack), `3<id>[…]` (its ack).
  engine.on('packetCreate', (packet) => {
    const match = typeof packet.data === 'string' ? /^2(\d+)\["([^"]+)"/.exec(packet.data) : null;
    if (match) ledger.sent.set(Number(match[1]), match[2]!);
  });
  engine.on('packet', (packet) => {
    const match = typeof packet.data === 'string' ? /^3(\d+)\[/.exec(packet.data) : null;
    if (match) ledger.acks.set(Number(match[1]), (ledger.acks.get(Number(match[1])) ?? 0) + 1);
  });
  return ledger;
}

/** Every event sent with an id above `afterId`, with the number of acks it got: each must be 1. */
export function ackCounts(ledger: AckLedger, afterId: number): Array<{ id: number; event: string; acks: number }> {
  return [...ledger.sent].filter(([id]) => id > afterId).map(([id, event]) => ({ id, event, acks: ledger.acks.get(id) ?? 0 }));
}

export const lastSentId = (ledger: AckLedger) => Math.max(-1, ...ledger.sent.keys());
