import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ColumnJson, ProjectJson, TaskJson } from '../shared/wire.js';
import { type AckLedger, ackCounts, ackLedger, lastSentId } from './support/ack-ledger.js';
import { api, createOrg, createProject, registerUser, type TestOrg, type TestUser } from './support/api.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { type RunningServer, startServer } from './support/server.js';
import { type ClientSocket, closeAllSockets, connect, ok, request } from './support/sockets.js';

const MiB = 1 << 20;

let db: TestDatabase;
let node: RunningServer;
let alice: TestUser;
let org: TestOrg;
let project: ProjectJson;
let columns: ColumnJson[];
let task: TaskJson;
let socket: ClientSocket;
let ledger: AckLedger;

beforeAll(async () => {
  db = await createTestDatabase();
  // Rate limiting is not what this file tests: many refusals are sent in a row.
  node = await startServer({ DATABASE_URL: db.url, SOCKET_RATE_LIMIT: '0' });
  alice = await registerUser(node.url, 'alice');
  org = await createOrg(node.url, alice);
  ({ project, columns } = await createProject(node.url, org));
  socket = await connect(node.url, { token: alice.token });
  ledger = ackLedger(socket);
  ({ task } = await ok(socket, 'task:create', { projectId: project.id, columnId: columns[0]!.id, title: 'Existing' }));
});

afterAll(async () => {
  closeAllSockets();
  await node?.close();
  await db?.drop();
});

async function raw(method: string, path: string, body: string | Uint8Array<ArrayBuffer> | undefined, headers: Record<string, string> = {}) {
  const response = await fetch(`${node.url}${path}`, { method, headers, body });
  const text = await response.text();
  return { status: response.status, text, json: text ? JSON.parse(text) : null };
}

describe('health', () => {
  it('answers /healthz and /readyz with 200', async () => {
    expect((await raw('GET', '/healthz', undefined)).status).toBe(200);
    const ready = await raw('GET', '/readyz', undefined);
    expect(ready.status).toBe(200);
  });
});

describe('HTTP bodies', () => {
  it('answers a body over 1 MiB with 413 PAYLOAD_TOO_LARGE, and keeps serving', async () => {
    const body = JSON.stringify({ email: 'big@example.test', password: 'x'.repeat(MiB + 10), name: 'big' });
    const answer = await raw('POST', '/api/v1/auth/register', body, { 'content-type': 'application/json' });
    expect(answer.status).toBe(413);
    expect(answer.json).toEqual({ error: { code: 'PAYLOAD_TOO_LARGE', message: expect.any(String) } });
    const rows = await db.query(`select 1 from users where email = 'big@example.test'`);
    expect(rows).toEqual([]);

    const me = await api(node.url, 'GET', '/me', undefined, alice.token);
    expect(me.status).toBe(200);
    expect((await raw('GET', '/healthz', undefined)).status).toBe(200);
  });

  it('answers malformed JSON with 400 VALIDATION_FAILED', async () => {
    const answer = await raw('POST', '/api/v1/auth/login', '{"email": "a@example.test", "password":', {
      'content-type': 'application/json',
    });
    expect(answer.status).toBe(400);
    expect(answer.json).toEqual({ error: expect.objectContaining({ code: 'VALIDATION_FAILED', message: expect.any(String) }) });

    const authed = await raw('POST', '/api/v1/orgs', '{name: "not json"}', {
      'content-type': 'application/json',
      authorization: `Bearer ${alice.token}`,
    });
    expect(authed.status).toBe(400);
    expect(authed.json.error.code).toBe('VALIDATION_FAILED');
  });

  it('refuses a body in another charset than UTF-8, or not valid UTF-8, with 400 VALIDATION_FAILED, and writes nothing', async () => {
    const projects = `/api/v1/orgs/${org.slug}/projects`;
    const authorization = `Bearer ${alice.token}`;
    const latin1 = Buffer.from('{"name":"Café Müller"}', 'latin1');
    const brokenUtf8 = Buffer.concat([Buffer.from('{"name":"bad'), Buffer.from([0xff]), Buffer.from('"}')]);
    for (const [contentType, body] of [
      ['application/json; charset=iso-8859-1', latin1],
      ['application/json', latin1],
      ['application/json', brokenUtf8],
      ['application/json; charset=utf-16', Buffer.from('{"name":"x"}', 'utf16le')],
    ] as const) {
      const answer = await raw('POST', projects, body, { 'content-type': contentType, authorization });
      expect({ status: answer.status, code: answer.json.error.code }).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    }
    expect(await db.query(`select name from projects where name like 'Caf%' or name like 'bad%'`)).toEqual([]);

    // UTF-8, named or not, with or without a byte-order mark, goes through as written.
    for (const [contentType, prefix] of [
      ['application/json; charset=UTF-8', ''],
      ['application/json', '\uFEFF'],
    ]) {
      const answer = await raw('POST', projects, `${prefix}{"name":"Café Müller"}`, { 'content-type': contentType, authorization });
      expect({ status: answer.status, name: answer.json.project.name }).toEqual({ status: 201, name: 'Café Müller' });
    }
    const ascii = await raw('POST', projects, '{"name":"Plain"}', { 'content-type': 'application/json; charset=us-ascii', authorization });
    expect(ascii.status).toBe(201); // ASCII is UTF-8 too
  });

  it("takes a project's shape back as a create's body: description null, as a board without one reads", async () => {
    const created = await api(node.url, 'POST', `/orgs/${org.slug}/projects`, { name: 'Plain', description: null }, alice.token);
    expect({ status: created.status, description: created.body.project?.description }).toEqual({ status: 201, description: null });
  });

  it('takes an empty body under a JSON content type as no body: a DELETE and a refresh go through, a create is refused', async () => {
    const json = { 'content-type': 'application/json', authorization: `Bearer ${alice.token}` };
    const { task: doomed } = await ok(socket, 'task:create', { projectId: project.id, columnId: columns[0]!.id, title: 'Doomed' });
    expect((await raw('DELETE', `/api/v1/orgs/${org.slug}/tasks/${doomed.id}`, '', json)).status).toBe(204);
    const refreshed = await raw('POST', '/api/v1/auth/refresh', '', json);
    expect(refreshed.status).toBe(200);
    expect(refreshed.json.token).toEqual(expect.any(String));
    const create = await raw('POST', '/api/v1/orgs', '', json);
    expect(create.status).toBe(400);
    expect(create.json.error.code).toBe('VALIDATION_FAILED');
    const poisoned = await raw('POST', '/api/v1/orgs', '{"name": "x", "__proto__": {"admin": true}}', json);
    expect(poisoned.status).toBe(400);
  });

  it('names a `__proto__` key as the reason a body is refused, and a broken body as broken', async () => {
    const json = { 'content-type': 'application/json', authorization: `Bearer ${alice.token}` };
    for (const body of ['{"name": "x", "__proto__": {"admin": true}}', '{"name": "x", "constructor": {"prototype": {"admin": true}}}']) {
      const poisoned = await raw('POST', '/api/v1/orgs', body, json);
      expect({ status: poisoned.status, error: poisoned.json.error }).toEqual({
        status: 400,
        error: { code: 'VALIDATION_FAILED', message: 'a JSON body may not have a "__proto__" or "constructor.prototype" key' },
      });
    }
    const broken = await raw('POST', '/api/v1/orgs', '{"name": "x",', json);
    expect({ status: broken.status, code: broken.json.error.code, message: broken.json.error.message }).toEqual({
      status: 400,
      code: 'VALIDATION_FAILED',
      message: expect.stringMatching(/not valid JSON/),
    });
  });

  it('refuses a key the schema does not name with 400 VALIDATION_FAILED, and writes nothing', async () => {
    const slug = `sneaky-${Date.now()}`;
    const answer = await api(node.url, 'POST', '/orgs', { name: 'Sneaky', slug, plan: 'pro' }, alice.token);
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('VALIDATION_FAILED');
    expect(await db.query('select 1 from organizations where slug = $1', [slug])).toEqual([]);

    const taskAnswer = await api(
      node.url,
      'POST',
      `/orgs/${org.slug}/projects/${project.id}/tasks`,
      { columnId: columns[0]!.id, title: 'Sneaky', version: 7 },
      alice.token,
    );
    expect(taskAnswer.status).toBe(400);
    expect(taskAnswer.body.error.code).toBe('VALIDATION_FAILED');
    expect(await db.query(`select 1 from tasks where title = 'Sneaky'`)).toEqual([]);
  });

  it('refuses a body that names a key on a route that takes none (a DELETE, a refresh), and does nothing; {} goes through', async () => {
    const doomed = await createOrg(node.url, alice);
    const json = { 'content-type': 'application/json', authorization: `Bearer ${alice.token}` };
    for (const [method, path] of [
      ['DELETE', `/api/v1/orgs/${doomed.slug}`],
      ['POST', '/api/v1/auth/refresh'],
      ['POST', '/api/v1/auth/sign-out-others'],
    ] as const) {
      const answer = await raw(method, path, '{"confirm": false}', json);
      expect(answer.status, `${method} ${path}`).toBe(400);
      expect(answer.json.error.code).toBe('VALIDATION_FAILED');
    }
    expect(await db.query('select 1 from organizations where id = $1', [doomed.id])).toHaveLength(1);
    expect((await raw('DELETE', `/api/v1/orgs/${doomed.slug}`, '{}', json)).status).toBe(204);
  });

  it('names the first of many schema failures back, not all of them (a payload of unknown keys is not echoed whole)', async () => {
    const keysOnly = Object.fromEntries(Array.from({ length: 4_000 }, (_, i) => [`unknown${i}`, 1]));
    const answer = await api(node.url, 'POST', '/orgs', { name: 'Echo', ...keysOnly }, alice.token);
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('VALIDATION_FAILED');
    expect(answer.body.error.details.length).toBeGreaterThan(0);
    expect(JSON.stringify(answer.body).length).toBeLessThan(10_000);
    const overSocket = await request(socket, 'task:update', { taskId: task.id, patch: { title: 'x' }, ...keysOnly });
    expect(overSocket).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
    expect(JSON.stringify(overSocket).length).toBeLessThan(10_000);
  });

  it('refuses a body of more than 10,000 values unread, with 400 VALIDATION_FAILED, and writes nothing', async () => {
    const json = { 'content-type': 'application/json', authorization: `Bearer ${alice.token}` };
    const manyKeys = JSON.stringify({ name: 'Many keys', ...Object.fromEntries(Array.from({ length: 6_000 }, (_, i) => [`k${i}`, 1])) });
    const manyItems = JSON.stringify({ columnId: columns[0]!.id, title: 'Many items', labelIds: Array(10_001).fill(0) });
    for (const [path, body] of [
      ['/api/v1/orgs', manyKeys],
      [`/api/v1/orgs/${org.slug}/projects/${project.id}/tasks`, manyItems],
      ['/api/v1/auth/login', manyKeys], // before any sign-in
    ] as const) {
      const answer = await raw('POST', path, body, json);
      expect({ status: answer.status, error: answer.json.error }, path).toEqual({
        status: 400,
        error: { code: 'VALIDATION_FAILED', message: 'a message may hold at most 10,000 values (members of objects, items of arrays)' },
      });
    }
    expect(await db.query(`select 1 from organizations where name = 'Many keys'`)).toEqual([]);
    expect(await db.query(`select 1 from tasks where title = 'Many items'`)).toEqual([]);
  });

  it("counts no punctuation inside a body's strings: a description of 20,000 commas, colons, brackets and quotes is kept as written", async () => {
    const description = ',:[{"\\}]'.repeat(2_500);
    const created = await api(
      node.url,
      'POST',
      `/orgs/${org.slug}/projects/${project.id}/tasks`,
      { columnId: columns[0]!.id, title: 'Punctuated', description },
      alice.token,
    );
    expect(created.status).toBe(201);
    expect(await db.query('select description from tasks where id = $1', [created.body.task.id])).toEqual([{ description }]);
  });

  it('answers an unknown route with 404 NOT_FOUND in the error shape', async () => {
    for (const [method, path] of [
      ['GET', '/api/v1/no-such-route'],
      ['POST', '/api/v1/orgs/x/y/z'],
      ['GET', '/nothing-here'],
    ] as const) {
      const answer = await raw(method, path, undefined);
      expect(answer.status).toBe(404);
      expect(answer.json).toEqual({ error: { code: 'NOT_FOUND', message: expect.any(String) } });
    }
  });

  it('answers a path the router cannot read (bad percent-encoding, a segment over 100 characters) with 404 NOT_FOUND in the error shape', async () => {
    for (const path of [
      '/api/v1/orgs/%ED%A0%80',
      '/api/v1/orgs/%C0%AF/projects',
      `/api/v1/orgs/${'a'.repeat(101)}`,
      `/api/v1/orgs/${org.slug}/projects/${'1'.repeat(101)}`,
    ]) {
      const answer = await raw('GET', path, undefined);
      expect(answer.status, path).toBe(404);
      expect(answer.json, path).toEqual({ error: { code: 'NOT_FOUND', message: expect.any(String) } });
    }
  });
});

/**
 * A raw long-polling session with no socket yet: its address, and a POST of packets to it (a raw
 * client keeps polling where socket.io-client would give up the transport on its own).
 */
async function openPolling(): Promise<{ session: string; post(body: string): Promise<Response> }> {
  const engine = `${node.url}/socket.io/?EIO=4&transport=polling`;
  const opened = await (await fetch(engine)).text();
  const session = `${engine}&sid=${JSON.parse(opened.slice(1)).sid}`;
  return { session, post: (body) => fetch(session, { method: 'POST', body, headers: { 'content-type': 'text/plain;charset=UTF-8' } }) };
}

type PolledAck = { ok: boolean; error: { code: string; message: string } };

/** Polls a long-polling session until `count` acks have come, by their ids. */
async function pollAcks(session: string, count: number): Promise<Map<number, PolledAck>> {
  const acks = new Map<number, PolledAck>();
  while (acks.size < count) {
    const polled = await (await fetch(session, { signal: AbortSignal.timeout(10_000) })).text();
    for (const packet of polled.split('\x1e')) {
      const ack = /^43(\d+)\[(.*)\]$/s.exec(packet);
      if (ack) acks.set(Number(ack[1]), JSON.parse(ack[2]!));
    }
  }
  return acks;
}

describe('socket messages', () => {
  it('closes a socket that sends a message over 1 MiB, while another socket keeps working', async () => {
    const big = await connect(node.url, { token: alice.token });
    const other = await connect(node.url, { token: alice.token });
    const closed = new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the oversized socket was not closed within 5000 ms')), 5000);
      big.once('disconnect', (reason) => {
        clearTimeout(timer);
        resolve(reason);
      });
    });
    big.emit('task:create', { projectId: project.id, columnId: columns[0]!.id, title: 'x'.repeat(MiB + 10) }, () => {});
    expect(await closed).toMatch(/^transport (close|error)$/);
    expect(big.connected).toBe(false);

    const answer = await ok(other, 'board:join', { projectId: project.id });
    expect(answer.project.id).toBe(project.id);
    expect(await db.query(`select 1 from tasks where length(title) > 1000`)).toEqual([]);
  });

  it('closes a long-polling session whose POST passes 1 MiB, as a WebSocket is closed, so that its client waits on no answer', async () => {
    const { session, post } = await openPolling();
    expect((await post(`40${JSON.stringify({ token: alice.token })}`)).status).toBe(200);
    expect(await (await fetch(session)).text()).toMatch(/^40\{"sid":/);

    const create = { projectId: project.id, columnId: columns[0]!.id, title: 'x'.repeat(MiB + 10) };
    expect((await post(`421${JSON.stringify(['task:create', create])}`)).status).toBe(413);
    // The session is gone: the next poll is answered at once, not with a ping 25 s later.
    const polled = await fetch(session, { signal: AbortSignal.timeout(10_000) });
    expect({ status: polled.status, body: await polled.json() }).toEqual({ status: 400, body: { code: 1, message: 'Session ID unknown' } });
    expect(await db.query(`select 1 from tasks where length(title) > 1000`)).toEqual([]);
  });

  it('answers an event of more than 10,000 values VALIDATION_FAILED, once and unread, and keeps the socket', async () => {
    const from = lastSentId(ledger);
    const manyKeys = {
      taskId: task.id,
      patch: { title: 'Many keys' },
      ...Object.fromEntries(Array.from({ length: 6_000 }, (_, i) => [`k${i}`, 1])),
    };
    const tooMany = {
      code: 'VALIDATION_FAILED',
      message: 'a message may hold at most 10,000 values (members of objects, items of arrays)',
    };
    expect(await request(socket, 'task:update', manyKeys)).toEqual({ ok: false, error: tooMany });
    const manyItems = { taskId: task.id, patch: { labelIds: Array(10_001).fill(0) } };
    expect(await request(socket, 'task:update', manyItems)).toEqual({ ok: false, error: tooMany });
    expect(await request(socket, 'no:such-event', manyKeys)).toEqual({
      ok: false,
      error: { code: 'VALIDATION_FAILED', message: 'unknown event' },
    });
    expect(socket.connected).toBe(true);
    await ok(socket, 'board:leave', { projectId: project.id });
    expect(ackCounts(ledger, from).map((sent) => sent.acks)).toEqual([1, 1, 1, 1]);
    expect(await db.query(`select 1 from tasks where title = 'Many keys'`)).toEqual([]);

    // Punctuation inside strings is not counted.
    const description = ',:[{"\\}]'.repeat(2_500);
    const { task: saved } = await ok(socket, 'task:update', { taskId: task.id, patch: { description } });
    expect(saved.description).toBe(description);
  });

  it("answers RATE_LIMITED, unread, the messages that would take a long-polling POST's values past 10,000 in all", async () => {
    const { session, post } = await openPolling();
    expect((await post(`40${JSON.stringify({ token: alice.token })}`)).status).toBe(200);
    expect(await (await fetch(session)).text()).toMatch(/^40\{"sid":/);

    // Three events of about 6,000 values each, in one POST: each under the limit, together over it.
    const keys = Object.fromEntries(Array.from({ length: 3_000 }, (_, i) => [`k${i}`, 1]));
    const update = (id: number) => `42${id}${JSON.stringify(['task:update', { taskId: task.id, patch: { title: 'x' }, ...keys }])}`;
    expect((await post([1, 2, 3].map(update).join('\x1e'))).status).toBe(200);
    const acks = await pollAcks(session, 3);
    expect(acks.get(1)).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED', message: expect.not.stringContaining('10,000') } });
    for (const id of [2, 3])
      expect(acks.get(id)).toMatchObject({
        ok: false,
        error: { code: 'RATE_LIMITED', message: expect.stringContaining('at most 10,000 values in all') },
      });

    // The next POST is read in a turn of its own.
    expect((await post(`424${JSON.stringify(['task:update', { taskId: task.id, patch: { title: 'After the burst' } }])}`)).status).toBe(
      200,
    );
    const answered = await (await fetch(session, { signal: AbortSignal.timeout(10_000) })).text();
    expect(answered).toMatch(/^434\[\{"ok":true/);
  });

  it('answers an event socket.io would refuse (a name it keeps for itself, no name, one not a string) `unknown event`, and keeps the connection', async () => {
    const { session, post } = await openPolling();
    expect((await post(`40${JSON.stringify({ token: alice.token })}`)).status).toBe(200);
    expect(await (await fetch(session)).text()).toMatch(/^40\{"sid":/);

    const manyKeys = JSON.stringify(Object.fromEntries(Array.from({ length: 12_000 }, (_, i) => [`k${i}`, 1])));
    const unreadable = [
      ...['["connect",{}]', '["disconnect"]', '["newListener",{}]', '[null,{}]', '[]', '{}', '[{"name":"board:leave"}]', '{not json'],
      // More than 10,000 values: refused unread, by its name.
      ...[`["connect",${manyKeys}]`, `[null,${manyKeys}]`],
    ];
    expect((await post(unreadable.map((json, i) => `42${i + 1}${json}`).join('\x1e'))).status).toBe(200);
    const acks = await pollAcks(session, unreadable.length);
    expect([...acks.entries()].sort(([a], [b]) => a - b)).toEqual(
      unreadable.map((_, i) => [i + 1, { ok: false, error: { code: 'VALIDATION_FAILED', message: 'unknown event' } }]),
    );

    expect((await post(`4299${JSON.stringify(['board:leave', { projectId: project.id }])}`)).status).toBe(200);
    expect(await pollAcks(session, 1)).toEqual(new Map([[99, { ok: true, data: {} }]]));
  });

  it('answers a handshake of more than 10,000 values over long-polling VALIDATION_FAILED, before any sign-in is tried', async () => {
    const { session, post } = await openPolling();
    const auth = { token: alice.token, ...Object.fromEntries(Array.from({ length: 6_000 }, (_, i) => [`k${i}`, 1])) };
    expect((await post(`40${JSON.stringify(auth)}`)).status).toBe(200);
    const polled = await (await fetch(session, { signal: AbortSignal.timeout(10_000) })).text();
    expect(JSON.parse(polled.slice(2))).toMatchObject({ message: 'VALIDATION_FAILED' });
    expect(polled.startsWith('44')).toBe(true);
  });

  const uuid = '00000000-0000-4000-8000-000000000000';
  const garbage: Record<string, Array<[string, unknown]>> = {
    'board:join': [
      ['extra key', { projectId: uuid, orgId: uuid }],
      ['bad sinceSeq', { projectId: uuid, sinceSeq: 'zero' }],
    ],
    'board:leave': [['extra key', { projectId: uuid, room: 'org:x' }]],
    'task:create': [
      ['extra key', { projectId: uuid, columnId: uuid, title: 'x', orgId: uuid }],
      ['no title', { projectId: uuid, columnId: uuid }],
    ],
    'task:update': [
      ['extra key', { taskId: uuid, patch: { title: 'x' }, version: 9 }],
      ['extra key in patch', { taskId: uuid, patch: { title: 'x', orgId: uuid } }],
      ['no patch', { taskId: uuid }],
    ],
    'task:move': [['extra key', { taskId: uuid, columnId: uuid, position: 'a0' }]],
    'task:delete': [['extra key', { taskId: uuid, hard: true }]],
    'task:archive': [], // no such event: answered, not left to time out
  };
  const common: Array<[string, unknown[]]> = [
    ['null', [null]],
    ['a number', [42]],
    ['a string', ['hello']],
    ['an array', [[1, 2, 3]]],
    ['an empty object (missing fields)', [{}]],
    ['no payload at all', []],
    ['a payload and an extra argument', [{}, 'extra']],
  ];

  for (const [event, specific] of Object.entries(garbage)) {
    const cases: Array<[string, unknown[]]> = [...common, ...specific.map(([name, payload]): [string, unknown[]] => [name, [payload]])];
    for (const [name, args] of cases) {
      it(`answers ${event} with ${name} exactly once with VALIDATION_FAILED`, async () => {
        const from = lastSentId(ledger);
        const acks: unknown[] = [];
        const first = new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no ack for ${event} within 5000 ms`)), 5000);
          (socket as unknown as { emit(event: string, ...args: unknown[]): void }).emit(event, ...args, (answer: unknown) => {
            acks.push(answer);
            clearTimeout(timer);
            resolve();
          });
        });
        await first;
        // Messages are handled in order: once a later round-trip is answered, a second ack would have come.
        await ok(socket, 'board:leave', { projectId: project.id });
        expect(ackCounts(ledger, from).map((sent) => [sent.event, sent.acks])).toEqual([
          [event, 1],
          ['board:leave', 1],
        ]);
        expect(acks).toHaveLength(1);
        expect(acks[0]).toEqual({ ok: false, error: expect.objectContaining({ code: 'VALIDATION_FAILED', message: expect.any(String) }) });
      });
    }
  }

  it('survives events sent without an ack callback, and answers the next one', async () => {
    const loose = socket as unknown as { emit(event: string, ...args: unknown[]): void };
    loose.emit('task:create', null);
    loose.emit('task:update', { taskId: 'nope' });
    loose.emit('board:join');
    loose.emit('task:update', { taskId: task.id, patch: { title: 'Renamed without ack' } });
    loose.emit('no:such-event', { anything: true });
    const answer = await ok(socket, 'board:join', { projectId: project.id });
    expect(answer.project.id).toBe(project.id);
    expect((await raw('GET', '/healthz', undefined)).status).toBe(200);
  });

  it('still accepts a well-formed event after all the garbage', async () => {
    const { task: created } = await ok(socket, 'task:create', { projectId: project.id, columnId: columns[0]!.id, title: 'Well formed' });
    expect(created.title).toBe('Well formed');
    expect(await db.query('select title from tasks where id = $1', [created.id])).toEqual([{ title: 'Well formed' }]);
  });
});
