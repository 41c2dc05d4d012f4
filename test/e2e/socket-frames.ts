import type { WebSocketRoute } from 'playwright-core';

type Payload = Record<string, unknown>;

/** A socket.io event frame (`42`, an ack id if any, then `[name, payload]`), taken apart; null for any other frame. */
function eventFrame(message: string | Buffer): { prefix: string; event: string; payload: Payload } | null {
  const frame = typeof message === 'string' ? /^(42\d*)(\[.*\])$/s.exec(message) : null;
  if (!frame) return null;
  const [event, payload] = JSON.parse(frame[2]!) as [string, Payload];
  return { prefix: frame[1]!, event, payload };
}

/**
 * Forwards a page's socket.io frames, except that those of the named client events are held
 * until `release()` (and rewritten by `rewrite` first, if given): the page waits for the server's
 * answer as it would while offline, and the server sees the change only when the test says so.
 */
export class HeldFrames {
  /** Resolves once a frame is held. */
  readonly held: Promise<void>;
  private heldNow!: () => void;
  private released = false;
  private waiting: Array<() => void> = [];
  private readonly events: ReadonlySet<string>;

  constructor(
    events: string[],
    private readonly rewrite: (payload: Payload) => Payload = (payload) => payload,
  ) {
    this.events = new Set(events);
    this.held = new Promise((resolve) => (this.heldNow = resolve));
  }

  release(): void {
    this.released = true;
    for (const send of this.waiting.splice(0)) send();
  }

  route(ws: WebSocketRoute): void {
    const server = ws.connectToServer();
    ws.onMessage((message) => {
      const frame = eventFrame(message);
      if (!frame || !this.events.has(frame.event)) return server.send(message);
      const send = () => server.send(`${frame.prefix}${JSON.stringify([frame.event, this.rewrite(frame.payload)])}`);
      if (this.released) return send();
      this.waiting.push(send);
      this.heldNow();
    });
  }
}

/** Forwards a page's socket.io frames, except the server's events named, which never reach the page. */
export function withoutServerEvents(events: string[]): (ws: WebSocketRoute) => void {
  return (ws) => {
    const server = ws.connectToServer();
    server.onMessage((message) => {
      const frame = eventFrame(message);
      if (!frame || !events.includes(frame.event)) ws.send(message);
    });
  };
}
