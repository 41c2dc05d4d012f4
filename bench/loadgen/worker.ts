// A load generator process: runs the jobs its parent (bench/run.ts) sends over IPC, one reply each.
import { closeGroup, connectGroup } from './sockets.js';
import type { Job, WorkerReply, WorkerRequest } from './protocol.js';
import { collect, joins, send, serialJoins, watch } from './traffic.js';

async function runJob(job: Job): Promise<unknown> {
  switch (job.kind) {
    case 'connect':
      return connectGroup(job);
    case 'close':
      return closeGroup(job.group);
    case 'watch':
      return watch(job.group, job.tag);
    case 'collect':
      return collect(job);
    case 'send':
      return send(job);
    case 'join':
      return joins(job);
    case 'serial-join':
      return serialJoins(job);
  }
}

process.on('message', (message: WorkerRequest) => {
  runJob(message.job).then(
    (result) => process.send!({ id: message.id, ok: true, result } satisfies WorkerReply),
    (error: Error) => process.send!({ id: message.id, ok: false, error: error.stack ?? error.message } satisfies WorkerReply),
  );
});
// The parent gone, nothing is left to do.
process.on('disconnect', () => process.exit(0));
