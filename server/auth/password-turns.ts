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
 * address little.
 */
export class PasswordTurns {
  private readonly byAddress = new Lanes(2);
  private readonly byAccount = new Lanes(1);

  /** `hashPassword`, in `worker`'s turn. */
  hash(worker: PasswordWorker, password: string): Promise<string> {
    return this.run(worker, () => hashPassword(password));
  }

  /** `verifyPassword`, in `worker`'s turn. */
  verify(worker: PasswordWorker, hash: string | null, password: string): Promise<boolean> {
    return this.run(worker, () => verifyPassword(hash, password));
  }

  private run<T>(worker: PasswordWorker, work: () => Promise<T>): Promise<T> {
    const { account, address } = worker;
    return this.byAddress.run(address, () => (account === undefined ? work() : this.byAccount.run(account.toLowerCase(), work)));
  }
}
