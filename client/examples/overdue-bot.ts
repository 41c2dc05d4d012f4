/**
 * The overdue bot: watches one board and moves every card whose due date has passed (and that is
 * not done) into an "Overdue" column, which it creates at the end of the board when there is none.
 *
 *   TASKFLOW_API_KEY=tfk_… node --import tsx client/examples/overdue-bot.ts --project <id> [--url http://127.0.0.1:3000] [--once [--wait 15]]
 *
 * It connects as a bot with an API key (permissions `boards:read` and `tasks:write`), keeps the
 * board in sync through the SDK and sweeps it after every change and once a minute (due dates pass
 * with the clock too). `--once` sweeps once and exits: 0 when done, 1 on an error (a server that
 * cannot be reached within `--wait` seconds too).
 */
import { parseArgs } from 'node:util';
import { type BoardState, TaskFlowClient, TaskFlowError, type TaskJson } from '../index.js';

const USAGE = `usage: overdue-bot [--project <id>] [--url <server>] [--column <name>] [--today YYYY-MM-DD] [--once [--wait <seconds>]]
  --project   the project (board) to watch; or TASKFLOW_PROJECT, or the first argument
  --url       the server; or TASKFLOW_URL (default http://127.0.0.1:3000)
  --column    the column overdue cards go to (default "Overdue"; found by name, case-insensitive)
  --today     the date cards are compared with (default: today, in this machine's time zone)
  --once      sweep once and exit
  --wait      with --once, how long to try to reach the server before giving up (default 15)
The API key is read from TASKFLOW_API_KEY (never from the command line, where others can see it).`;

/** Refusals that mean "the card changed under us": skip it, the next change brings a fresh look. */
const STALE = new Set(['CONFLICT', 'NOT_FOUND', 'VALIDATION_FAILED']);
const SWEEP_EVERY_MS = 60_000;

interface Options {
  url: string;
  projectId: string;
  columnName: string;
  today?: string;
  once: boolean;
  waitSeconds: number;
}

function options(): Options {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      project: { type: 'string' },
      url: { type: 'string' },
      column: { type: 'string', default: 'Overdue' },
      today: { type: 'string' },
      once: { type: 'boolean', default: false },
      wait: { type: 'string', default: '15' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const projectId = values.project ?? process.env.TASKFLOW_PROJECT ?? positionals[0];
  if (values.help || !projectId) exit(values.help ? 0 : 2, USAGE);
  if (values.today !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(values.today)) exit(2, '--today takes a date such as 2030-01-31');
  const waitSeconds = Number(values.wait);
  if (!(waitSeconds > 0 && waitSeconds <= 86_400)) exit(2, '--wait takes a number of seconds up to a day, such as 15');
  return {
    url: values.url ?? process.env.TASKFLOW_URL ?? 'http://127.0.0.1:3000',
    projectId,
    columnName: values.column,
    today: values.today,
    once: values.once,
    waitSeconds,
  };
}

const log = (message: string) => console.log(`[overdue-bot] ${message}`);

function exit(code: number, message: string): never {
  (code === 0 ? console.log : console.error)(message);
  process.exit(code);
}

/** `YYYY-MM-DD` for today in this machine's time zone. */
function localToday(): string {
  const now = new Date();
  return `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}-${String(now.getDate()).padStart(2, '0')}`;
}

/** Due before today, and not done (in a done column or completed). */
function isOverdue(task: TaskJson, board: BoardState, today: string): boolean {
  return task.dueDate !== null && task.dueDate < today && task.completedAt === null && !board.columns.get(task.columnId)?.isDone;
}

/**
 * Moves the board's overdue cards into the overdue column, creating it when needed. `moved`
 * remembers each card moved with its due date, so a card someone takes back out of the column
 * stays where they put it until its due date changes; a deleted card is forgotten.
 */
async function sweep(client: TaskFlowClient, board: BoardState, opts: Options, moved: Map<string, string>): Promise<number> {
  const today = opts.today ?? localToday();
  for (const id of moved.keys()) if (!board.tasks.has(id)) moved.delete(id); // deleted cards: a bot that runs for good keeps only the board's
  const wanted = opts.columnName.toLowerCase();
  let column = board.orderedColumns().find((c) => c.name.trim().toLowerCase() === wanted);
  const due = [...board.tasks.values()].filter(
    (task) => isOverdue(task, board, today) && task.columnId !== column?.id && moved.get(task.id) !== task.dueDate,
  );
  if (due.length === 0) return 0;
  if (!column) {
    column = (await client.createColumn({ projectId: opts.projectId, name: opts.columnName })).column;
    log(`created the column "${column.name}"`);
  }
  let count = 0;
  for (const task of due) {
    try {
      await client.moveTask({ taskId: task.id, columnId: column.id, baseVersion: task.version });
      moved.set(task.id, task.dueDate!);
      count += 1;
      log(`moved "${task.title}" (due ${task.dueDate}) to "${column.name}"`);
    } catch (error) {
      if (!(error instanceof TaskFlowError) || !STALE.has(error.code)) throw error;
      log(`skipped "${task.title}": ${error.code} (it changed meanwhile)`);
    }
  }
  return count;
}

/** `promise`, or a rejection once `seconds` have passed without it settling. */
function withDeadline<T>(promise: Promise<T>, seconds: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${seconds} s`)), seconds * 1000);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** Runs `work` now, or once more after the run in progress: never two at a time. */
function serial(work: () => Promise<void>): () => void {
  let running = false;
  let again = false;
  const run = async () => {
    running = true;
    do {
      again = false;
      await work().catch((error: Error) => log(`sweep failed: ${error.message}`));
    } while (again);
    running = false;
  };
  return () => {
    if (running) again = true;
    else void run();
  };
}

async function main(): Promise<void> {
  const opts = options();
  const apiKey = process.env.TASKFLOW_API_KEY;
  if (!apiKey) exit(2, `TASKFLOW_API_KEY is not set\n${USAGE}`);

  let client: TaskFlowClient;
  try {
    client = new TaskFlowClient({ url: opts.url, credentials: { apiKey } });
  } catch (error) {
    exit(2, `[overdue-bot] ${(error as Error).message}`); // an address no attempt could reach (one with a path)
  }
  client.on('state', (state) => {
    log(`connection: ${state}`);
    // Closed by the client itself (its key refused while it was away, say), not by the bot, which
    // exits at once wherever it closes: nothing more will happen, so the bot ends too.
    if (state === 'closed') setImmediate(() => exit(1, '[overdue-bot] the connection was closed for good (is the key still valid?)'));
  });
  client.on('error', (error) => log(`error: ${error.message}`));
  client.on('revoked', ({ reason }) => {
    client.close();
    exit(1, `[overdue-bot] access revoked (${reason})`);
  });
  log(`connecting to ${opts.url}`);
  try {
    // The SDK keeps trying to connect, as a bot that runs for good should; a single sweep gives up.
    await (opts.once ? withDeadline(client.connect(), opts.waitSeconds) : client.connect());
  } catch (error) {
    client.close();
    exit(1, `[overdue-bot] could not connect to ${opts.url}: ${(error as Error).message}`);
  }

  let board: BoardState;
  try {
    board = await client.joinBoard(opts.projectId);
  } catch (error) {
    client.close();
    exit(1, `[overdue-bot] could not open board ${opts.projectId}: ${(error as Error).message}`);
  }
  log(`watching "${board.project.name}" (${board.tasks.size} cards)`);
  const moved = new Map<string, string>();

  if (opts.once) {
    try {
      const count = await sweep(client, board, opts, moved);
      log(`done: ${count} card(s) moved`);
    } catch (error) {
      client.close();
      exit(1, `[overdue-bot] sweep failed: ${(error as Error).message}`);
    }
    client.close();
    process.exit(0);
  }

  const schedule = serial(async () => {
    const current = client.boards.get(opts.projectId);
    if (current) await sweep(client, current, opts, moved);
  });
  client.on('board', (state) => state.project.id === opts.projectId && schedule());
  const timer = setInterval(schedule, SWEEP_EVERY_MS);
  schedule();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      clearInterval(timer);
      client.close();
      log('stopped');
      process.exit(0);
    });
  }
}

void main();
