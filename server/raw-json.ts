import { randomBytes } from 'node:crypto';
import { Encoder, type Packet } from 'socket.io-parser';

/**
 * JSON text that goes to the client as it is: the database writes a board's JSON (the server a
 * snapshot's tasks, once), and parsing it here only to write it out again would cost the server
 * half of a snapshot's CPU.
 *
 * It is written in place, without being parsed, by `stringifyRaw` and by the socket encoder
 * (`RawJsonEncoder`); anywhere else `JSON.stringify` parses it (`toJSON`), so it is never written
 * wrong. Only for this node's own answers: a broadcast through the Redis adapter is not JSON on
 * its way to other nodes.
 */
class RawJson {
  constructor(readonly text: string) {}

  toJSON(): unknown {
    if (!writing) return JSON.parse(this.text);
    writing.push(this.text);
    return `${MARK}${writing.length - 1}`;
  }
}

/** JSON text that encodes a `T`: in this process it can only be written out, never read as a `T`. */
export type Raw<T> = RawJson & { readonly encodes?: T };

/** What goes on the wire as a `T`: the value, or any part of it as raw JSON of that part's type. */
export type Wire<T> = Raw<T> | (T extends readonly (infer I)[] ? Wire<I>[] : T extends object ? { [K in keyof T]: Wire<T[K]> } : T);

/** The JSON text `text`, which encodes a `T`, to hand on as it is. */
export function rawJson<T>(text: string): Raw<T> {
  return new RawJson(text);
}

// While a write is under way, each RawJson is written as a mark holding its index in `writing`,
// and the marks are then replaced by the texts. The mark begins with a NUL and a random nonce,
// so no text a client sent (JSON.stringify writes it with the same escape) can pass for one.
const MARK = `\u0000raw:${randomBytes(16).toString('hex')}:`;
const MARK_IN_JSON = JSON.stringify(MARK).slice(0, -1);
let writing: string[] | null = null;

function writeRaw<T>(write: () => T, splice: (written: T, texts: string[]) => T): T {
  const outer = writing;
  const texts: string[] = [];
  writing = texts;
  try {
    const written = write();
    return texts.length === 0 ? written : splice(written, texts);
  } finally {
    writing = outer;
  }
}

function splice(json: string, texts: string[]): string {
  let out = '';
  let from = 0;
  for (let at = json.indexOf(MARK_IN_JSON); at !== -1; at = json.indexOf(MARK_IN_JSON, from)) {
    const end = json.indexOf('"', at + MARK_IN_JSON.length);
    out += json.slice(from, at) + texts[Number(json.slice(at + MARK_IN_JSON.length, end))];
    from = end + 1;
  }
  return out + json.slice(from);
}

/** `JSON.stringify(value)`, with each `rawJson` written as its text. */
export function stringifyRaw(value: unknown): string {
  return writeRaw(() => JSON.stringify(value), splice);
}

/** socket.io's encoder, writing each `rawJson` in a packet as its text. */
export class RawJsonEncoder extends Encoder {
  override encode(packet: Packet): Array<string | Buffer | ArrayBuffer> {
    return writeRaw(
      () => super.encode(packet) as Array<string | Buffer | ArrayBuffer>,
      (parts, texts) => parts.map((part) => (typeof part === 'string' ? splice(part, texts) : part)),
    );
  }
}
