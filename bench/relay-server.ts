// The fan-out and connection baseline: a bare socket.io server, on the Redis adapter when REDIS_URL
// is set, with no authentication and no database. `join` enters a room; `relay` sends its payload
// to the room's other sockets on every node, as `board:event`, and acks.
import { createServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';

const port = Number(process.env.PORT ?? 0);
const redisUrl = process.env.REDIS_URL || null;

const http = createServer((request, response) => {
  response.writeHead(request.url === '/readyz' ? 200 : 404).end();
});
const redis = redisUrl ? { pub: new Redis(redisUrl), sub: new Redis(redisUrl) } : null;
const io = new Server(http, { serveClient: false, ...(redis ? { adapter: createAdapter(redis.pub, redis.sub) } : {}) });

type Ack = (answer: { ok: boolean }) => void;
io.on('connection', (socket) => {
  socket.on('join', ({ room }: { room: string }, ack: Ack) => {
    void socket.join(room);
    ack({ ok: true });
  });
  socket.on('relay', ({ room, payload }: { room: string; payload: unknown }, ack: Ack) => {
    socket.to(room).emit('board:event', payload);
    ack({ ok: true });
  });
});

http.listen(port, '127.0.0.1');
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void io.close();
    redis?.pub.disconnect();
    redis?.sub.disconnect();
    process.exit(0);
  });
}
