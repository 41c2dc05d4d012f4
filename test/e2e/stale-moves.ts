import type { WebSocketRoute } from 'playwright-core';

/**
 * Forwards a page's socket.io frames, except that every `task:move` names a neighbour that does
 * not exist, and is held until `release()`.
 */
export class StaleMoves {
  held: Promise<void>;
  private heldNow!: () => void;
  private released = false;
  private waiting: Array<() => void> = [];

  constructor() {
    this.held = new Promise((resolve) => (this.heldNow = resolve));
  }

  release(): void {
    this.released = true;
    for (const send of this.waiting.splice(0)) send();
  }

  route(ws: WebSocketRoute): void {
    const server = ws.connectToServer();
    ws.onMessage((message) => {
      const frame = typeof message === 'string' ? /^(42\d*)(\[.*\])$/s.exec(message) : null;
      const [event, payload] = frame ? (JSON.parse(frame[2]!) as [string, Record<string, unknown>]) : [];
      if (!frame || event !== 'task:move') return server.send(message);
      const stale = { ...payload, afterId: '00000000-0000-4000-8000-000000000000', beforeId: undefined };
      const send = () => server.send(`${frame[1]}${JSON.stringify([event, stale])}`);
      if (this.released) return send();
      this.waiting.push(send);
      this.heldNow();
    });
  }
}
