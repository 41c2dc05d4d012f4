import WebSocket from 'ws';

/**
 * A socket.io client cut down to what the generators do, speaking socket.io's wire protocol
 * (engine.io 4, socket.io 5, the websocket transport, the default namespace) over `ws`. The
 * server gets the frames socket.io-client would send it, while the generator spends a fraction
 * of socket.io-client's CPU on them: the generators share the machine with the server under
 * test, whose baseline's client (pgbench) is a C program.
 *
 * An answer is handed over as its JSON text, the array of the ack's arguments, for the caller to
 * read only as far as it needs; so is an event, the array of its name and arguments.
 */
export class WireSocket {
  private readonly ws: WebSocket;
  private readonly answers = new Map<number, (text: string) => void>();
  private readonly listeners = new Map<string, (text: string) => void>();
  private nextId = 0;

  private constructor(url: string, auth: object, opened: { resolve(): void; reject(error: Error): void }) {
    this.ws = new WebSocket(`${url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`, { perMessageDeflate: false });
    this.ws.on('message', (data: Buffer) => {
      const text = data.toString();
      if (text === '2')
        this.ws.send('3'); // ping, pong
      else if (text.startsWith('0'))
        this.ws.send(`40${JSON.stringify(auth)}`); // engine.io open: connect to "/"
      else if (text.startsWith('40')) opened.resolve();
      else if (text.startsWith('44')) opened.reject(new Error(`connect_error ${readError(text.slice(2))}`));
      else if (text.startsWith('42')) this.onEvent(text);
      else if (text.startsWith('43')) this.onAnswer(text);
      else if (text.startsWith('41') || text === '1') this.ws.close(); // disconnected by the server
    });
    this.ws.on('error', (error) => opened.reject(error));
    this.ws.on('close', () => opened.reject(new Error('closed before connecting')));
  }

  /** Opens the websocket and connects to the default namespace with `auth`; rejects on a refusal or after `timeoutMs`. */
  static async connect(url: string, auth: object, timeoutMs: number): Promise<WireSocket> {
    let socket!: WireSocket;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('connect timeout')), timeoutMs);
      const settle = (error?: Error) => {
        clearTimeout(timer);
        if (error) reject(error);
        else resolve();
      };
      socket = new WireSocket(url, auth, { resolve: () => settle(), reject: settle });
    }).catch((error: unknown) => {
      socket?.close();
      throw error;
    });
    return socket;
  }

  /** Sends `event` with `payload`; `onAnswer` gets the ack's arguments as JSON text (`[answer]`). */
  emit(event: string, payload: unknown, onAnswer: (text: string) => void): void {
    const id = this.nextId++;
    this.answers.set(id, onAnswer);
    this.ws.send(`42${id}${JSON.stringify([event, payload])}`);
  }

  /** `emit`, the answer parsed; rejects after `timeoutMs`. */
  request(event: string, payload: unknown, timeoutMs: number): Promise<any> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${event}: no answer in ${timeoutMs} ms`)), timeoutMs);
      this.emit(event, payload, (text) => {
        clearTimeout(timer);
        resolve(readAnswer(text));
      });
    });
  }

  /** Hands each `event` the server sends to `listener`, as the JSON text of `[event, ...arguments]`. */
  on(event: string, listener: (text: string) => void): void {
    this.listeners.set(event, listener);
  }

  close(): void {
    this.ws.close();
  }

  /** `42` [ack id] `["name",…]`: an event from the server. */
  private onEvent(text: string): void {
    const start = text.indexOf('[');
    const name = text.slice(start + 2, text.indexOf('"', start + 2));
    this.listeners.get(name)?.(text.slice(start));
  }

  /** `43` ack id `[…]`: the answer to an emit. */
  private onAnswer(text: string): void {
    const start = text.indexOf('[');
    const id = Number(text.slice(2, start));
    const onAnswer = this.answers.get(id);
    this.answers.delete(id);
    onAnswer?.(text.slice(start));
  }
}

/** The answer in an ack's JSON text (its one argument), parsed. */
export function readAnswer(text: string): any {
  return (JSON.parse(text) as unknown[])[0];
}

function readError(text: string): string {
  try {
    return (JSON.parse(text) as { message?: string }).message ?? text;
  } catch {
    return text;
  }
}
