import { io, type Socket } from 'socket.io-client';
import { addMember, createOrg, createProject, registerUser, type TestOrg, type TestUser } from '../../test/support/api.js';

/** An org with an owner and `members` more members, on the server at `base`. */
export interface Fixture {
  base: string;
  org: TestOrg;
  owner: TestUser;
  /** The owner first, then the members. */
  users: TestUser[];
}

export interface Board {
  projectId: string;
  columnId: string;
}

/** Runs `task(i)` for i < count, `concurrency` at a time. */
export async function pool<T>(count: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      results[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results;
}

export async function seedOrg(base: string, members: number): Promise<Fixture> {
  const owner = await registerUser(base, 'bench-owner');
  const org = await createOrg(base, owner);
  const others = await pool(members, 4, async (i) => {
    const user = await registerUser(base, `bench-${i}`);
    await addMember(base, org, user, 'member');
    return user;
  });
  return { base, org, owner, users: [owner, ...others] };
}

export async function createBoards(fixture: Fixture, count: number): Promise<Board[]> {
  return pool(count, 6, async (i) => {
    const { project, columns } = await createProject(fixture.base, fixture.org, `Bench board ${i}`);
    return { projectId: project.id, columnId: columns[0]!.id };
  });
}

/** Creates `count` tasks on `board` over one socket of `token`; answers their ids. */
export async function createTasks(url: string, token: string, board: Board, count: number): Promise<string[]> {
  const socket: Socket = io(url, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    return await pool(count, 8, async (i) => {
      const answer = await socket.timeout(10_000).emitWithAck('task:create', {
        projectId: board.projectId,
        columnId: board.columnId,
        title: `Bench task ${i}`,
        description: 'A task the benchmark made, with a description of an ordinary length for a card.',
        priority: i % 4,
      });
      if (!answer?.ok) throw new Error(`task:create refused: ${JSON.stringify(answer?.error)}`);
      return answer.data.task.id as string;
    });
  } finally {
    socket.close();
  }
}
