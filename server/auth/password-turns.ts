import { Lanes } from '../lanes.js';

/** Whose password work it is: the client's address (`request.ip`, see TRUST_PROXY), and the account's email where one is named. */
export interface PasswordWorker {
  address: string;
  account?: string;
}

/**
 * Turns for password work (argon2id: 64 MiB and about 0.2 s of a core a hash or a check), which
 * runs on libuv's four threads, first come, first served: ten logins of one account sent at once
 * (as many as the failed-login throttle lets wait) held them all, and another tenant's login
 * waited behind them; so did an address signing up account after account. Here an account's
 * password work runs one piece at a time, and a client address's two at a time; the rest wait in
 * order, holding nothing. A flood waits behind itself, and everyone else gets the other threads.
 * Two hashes at once are as many as two cores run, so the turns cost a busy address little.
 */
export class PasswordTurns {
  private readonly byAccount = new Lanes(1);
  private readonly byAddress = new Lanes(2);

  run<T>(worker: PasswordWorker, work: () => Promise<T>): Promise<T> {
    const { account, address } = worker;
    const inAddressTurn = () => this.byAddress.run(address, work);
    // The account's turn first, then the address's: an account's waiting pieces hold no turn of the address.
    return account === undefined ? inAddressTurn() : this.byAccount.run(account.toLowerCase(), inAddressTurn);
  }
}
