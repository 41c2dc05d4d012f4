import { DomainError } from '../errors.js';
import { Lanes } from '../lanes.js';
import { hashPassword, verifyPassword } from './passwords.js';

/** Whose password work it is: the client's address (`request.ip`, see TRUST_PROXY), and the account's email where one is named. */
export interface PasswordWorker {
  address: string;
  account?: string;
}

/**
 * Turns for password work (argon2id: 64 MiB and about 0.2 s of a core a hash or a check), which
 * runs on libuv's four threads, first come, first served: ten logins of one account sent at once
 * held them all, and another tenant's login waited behind them; so did an address signing up
 * account after account. Here a client address's password work runs two pieces at a time, and an
 * account's one at a time; the rest wait in order, so a flood waits behind itself, and everyone
 * else gets the other threads. The address's turn comes first: a piece waiting for its address
 * holds no turn of its account, so one address's queue cannot keep an account's owner waiting
 * from elsewhere. Two hashes at once are as many as two cores run, so the turns cost a busy
 * address little. At most `MOST_WAITING` pieces wait for one address's turns, or one account's
 * (a few seconds of work): past that a request is answered RATE_LIMITED at once, where it would
 * have waited past its answer deadline, been answered 503, and still done its work when its turn
 * came (an account made, a password changed, for a client told it failed).
 */
export class PasswordTurns {
  static readonly MOST_WAITING = 16;
  private readonly byAddress = new Lanes(2, PasswordTurns.MOST_WAITING);
  private readonly byAccount = new Lanes(1, PasswordTurns.MOST_WAITING);

  /** `hashPassword`, in `worker`'s turn. */
  hash(worker: PasswordWorker, password: string): Promise<string> {
    return this.run(worker, () => hashPassword(password));
  }

  /** `verifyPassword`, in `worker`'s turn. */
  verify(worker: PasswordWorker, hash: string | null, password: string): Promise<boolean> {
    return this.run(worker, () => verifyPassword(hash, password));
  }

  private async run<T>(worker: PasswordWorker, work: () => Promise<T>): Promise<T> {
    const { address } = worker;
    const account = worker.account?.toLowerCase();
    if (this.byAddress.full(address) || (account !== undefined && this.byAccount.full(account))) throw tooMuchWaiting();
    return this.byAddress.run(address, () => {
      if (account === undefined) return work();
      if (this.byAccount.full(account)) throw tooMuchWaiting(); // it filled while this waited for the address
      return this.byAccount.run(account, work);
    });
  }
}

const tooMuchWaiting = () =>
  new DomainError('RATE_LIMITED', 'too many sign-ins and password changes at once from here; try again in a moment', {
    retryAfterSeconds: 1,
  });
