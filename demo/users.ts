import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type BinaryLike } from 'node:crypto';
import { promisify } from 'node:util';

const scrypt = promisify(scryptCallback) as (password: BinaryLike, salt: BinaryLike, keylen: number) => Promise<Buffer>;
const KEY_LENGTH = 64;

interface PasswordHash {
  readonly salt: Buffer;
  readonly hash: Buffer;
}

async function hashPassword(password: string, salt: Buffer = randomBytes(16)): Promise<PasswordHash> {
  return { salt, hash: await scrypt(password.normalize('NFKC'), salt, KEY_LENGTH) };
}

/** The demo's embedded user store: scrypt hashes with a random salt each, in memory. */
export class UserStore {
  private readonly users = new Map<string, PasswordHash>();
  // Checked against when the user does not exist, so both cases cost one scrypt.
  private readonly decoy = hashPassword(randomBytes(16).toString('hex'));

  async add(username: string, password: string): Promise<void> {
    this.users.set(username, await hashPassword(password));
  }

  /** Whether `password` is the user's, in about the same time whether or not the user exists. */
  async verify(username: string, password: string): Promise<boolean> {
    const stored = this.users.get(username) ?? (await this.decoy);
    const { hash } = await hashPassword(password, stored.salt);
    return timingSafeEqual(hash, stored.hash) && this.users.has(username);
  }
}
