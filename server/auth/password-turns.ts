import { DomainError } from '../errors.js';
import { Lanes, noLongerWanted, type StillWanted } from '../lanes.js';
import { hashPassword, type Verified, verifyPassword } from './passwords.js';

/**
 * Whose password work it is: the client's address (`request.ip`, see TRUST_PROXY), the account's
 * email where one is named, and whether the client still waits for the answer (`RequestClient`).
 */
export interface PasswordWorker {
  address: string;
  account?: string;
  stillWanted?: StillWanted;
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
 * address little. Work whose client no longer waits when its turn comes (answered 503 at the
 * deadline, or gone) is not done: an account made, or a password changed, for a client told it
 * failed. At most `mostWaiting` pieces wait for one address's turns, or one account's (some
 * seconds of work): past that a request is answered RATE_LIMITED at once.
 */
export class PasswordTurns {
  private readonly byAddress: Lanes;
  private readonly byAccount: Lanes;

  constructor(mostWaiting = 64) {
    this.byAddress = new Lanes(2, mostWaiting);
    this.byAccount = new Lanes(1, mostWaiting);
  }

  /** `hashPassword`, in `worker`'s turn; thrown away (UNAVAILABLE) if its client stopped waiting meanwhile, so that nothing is written with it. */
  async hash(worker: PasswordWorker, password: string): Promise<string> {
    const hashed = await this.run(worker, () => hashPassword(password));
    if (worker.stillWanted && !worker.stillWanted()) throw noLongerWanted();
    return hashed;
  }

  /** `verifyPassword`, in `worker`'s turn. */
  verify(worker: PasswordWorker, hash: string | null, password: string): Promise<Verified> {
    return this.run(worker, () => verifyPassword(hash, password));
  }

  private async run<T>(worker: PasswordWorker, work: () => Promise<T>): Promise<T> {
    const { address, stillWanted } = worker;
    const account = worker.account?.toLowerCase();
    if (this.byAddress.full(address) || (account !== undefined && this.byAccount.full(account))) throw tooMuchWaiting();
    return this.byAddress.run(
      address,
      () => {
        if (account === undefined) return work();
        if (this.byAccount.full(account)) throw tooMuchWaiting(); // it filled while this waited for the address
        return this.byAccount.run(account, work, stillWanted);
      },
      stillWanted,
    );
  }
}

const tooMuchWaiting = () =>
  new DomainError('RATE_LIMITED', 'too many sign-ins and password changes at once from here; try again in a moment', {
    retryAfterSeconds: 1,
  });
