import { Decoder, Encoder, type Packet, PacketType } from 'socket.io-parser';
import { describe, expect, it } from 'vitest';
import { RawJsonEncoder, rawJson, stringifyRaw } from '../server/raw-json.js';

// JSON as PostgreSQL writes it: spaces after commas, non-ASCII as it is, escapes where needed.
const tasksText = '[{"id":"t1","title":"a \\"quote\\" and \\\\ 🧭"}, \n {"id":"t2","title":"line\\nbreak"}]';
const tasks = JSON.parse(tasksText) as unknown[];
const decoded = (encoded: Array<string | Buffer | ArrayBuffer>) => {
  const decoder = new Decoder();
  let packet: Packet | undefined;
  decoder.on('decoded', (p: Packet) => (packet = p));
  for (const part of encoded) decoder.add(part);
  return packet;
};

describe('database JSON passed through to the client', () => {
  it('is written as its text, and reads back as the value it encodes', () => {
    const value = { ok: true, data: { tasks: rawJson(tasksText), seq: 7, nested: [rawJson('{"a":[1,2]}'), 'plain'] } };
    const written = stringifyRaw(value);
    expect(written).toContain(tasksText);
    expect(JSON.parse(written)).toEqual({ ok: true, data: { tasks, seq: 7, nested: [{ a: [1, 2] }, 'plain'] } });
  });

  it('goes out in a socket.io ack that the standard decoder reads as the value', () => {
    const packet: Packet = { type: PacketType.ACK, nsp: '/', id: 12, data: [{ ok: true, data: { tasks: rawJson(tasksText), seq: 3 } }] };
    const encoded = new RawJsonEncoder().encode(packet);
    expect(encoded).toHaveLength(1);
    expect(decoded(encoded)).toEqual({ type: PacketType.ACK, nsp: '/', id: 12, data: [{ ok: true, data: { tasks, seq: 3 } }] });
  });

  it('leaves the text around it as it is, placeholder look-alikes too', () => {
    const around = { title: '\u0000raw:0:0', other: '"\\u0000raw:', quote: '" } ] \\' };
    const packet: Packet = { type: PacketType.ACK, nsp: '/', id: 4, data: [{ before: around, tasks: rawJson(tasksText), after: around }] };
    expect(decoded(new RawJsonEncoder().encode(packet))).toEqual({ ...packet, data: [{ before: around, tasks, after: around }] });
  });

  it('writes a packet without raw JSON as the standard encoder does', () => {
    const packet: Packet = { type: PacketType.EVENT, nsp: '/', data: ['board:event', { title: 'plain', seq: 1 }] };
    expect(new RawJsonEncoder().encode(packet)).toEqual(new Encoder().encode(packet));
  });

  it('is parsed by a plain JSON.stringify, so nowhere else writes it wrong', () => {
    expect(JSON.parse(JSON.stringify({ tasks: rawJson(tasksText) }))).toEqual({ tasks });
  });
});
