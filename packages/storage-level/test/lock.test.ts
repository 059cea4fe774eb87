// The folder lock across processes, and a folder that lost its identity. A child process
// (lock-child.ts) opens a folder and holds it: a second process opening the same folder, and
// this one, get StorageLocked (LevelDB's LEVEL_LOCKED as `cause`) for as long as it holds it;
// once it closed and exited, or was killed with SIGKILL (the OS drops the lock with the
// process), the folder opens again with everything in it. A folder holding records but no
// identity record (wiped, or written by something else) is refused with StorageCorrupted
// naming the identity record, never initialised over.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type LogIndex, nodeId, type Term } from '@cairn/raft';
import { Level } from 'level';
import { afterEach, describe, expect, it } from 'vitest';
import { LevelLog, type StorageError } from '../src/index.js';
import { IDENTITY_KEY } from '../src/records.js';
import { TempDirs } from './helpers.js';

const temp = new TempDirs();
afterEach(() => temp.cleanup());

/** A bound on a child's start-up and answers, so a hang fails the test instead of stalling it. */
const CHILD_TIMEOUT_MS = 30_000;
const childScript = fileURLToPath(new URL('./lock-child.ts', import.meta.url));
const packageDir = fileURLToPath(new URL('..', import.meta.url));

function open(dir: string): Promise<LevelLog> {
  return LevelLog.open({ dir, clusterId: 'lock', nodeId: nodeId(1) });
}

interface Child {
  process: ChildProcess;
  exited: Promise<unknown>;
  /** The child's first line: `opened` or `refused <code>`. */
  answer: Promise<string>;
  output(): string;
}

function start(dir: string): Child {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=source', childScript, dir],
    {
      cwd: packageDir,
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let output = '';
  let errors = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    errors += chunk;
  });
  const exited = once(child, 'close');
  const answer = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`lock child gave no answer: ${errors}`));
    }, CHILD_TIMEOUT_MS);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      const line = output.split('\n')[0];
      if (output.includes('\n') && line !== undefined) {
        clearTimeout(timer);
        resolve(line);
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      if (!output.includes('\n')) reject(new Error(`lock child exited without answer: ${errors}`));
    });
  });
  return { process: child, exited, answer, output: () => output };
}

/** The rejection of `promise`, which must reject. */
async function failureOf(promise: Promise<unknown>): Promise<StorageError> {
  try {
    await promise;
  } catch (error) {
    return error as StorageError;
  }
  throw new Error('expected a rejection');
}

async function expectLocked(dir: string): Promise<void> {
  const error = await failureOf(open(dir));
  expect(error.code).toBe('StorageLocked');
  expect((error.cause as { code?: string }).code).toBe('LEVEL_LOCKED');
  const second = start(dir);
  expect(await second.answer).toBe('refused StorageLocked');
  await second.exited;
}

describe('the folder lock across processes', () => {
  it('refuses a second process while the first holds the folder, until it exits', async () => {
    const dir = temp.make();
    const seeded = await open(dir);
    await seeded.write({
      entries: [{ index: 1 as LogIndex, term: 1 as Term, type: 'normal', data: Uint8Array.of(7) }],
      sync: true,
    });
    await seeded.close();

    const holder = start(dir);
    try {
      expect(await holder.answer).toBe('opened');
      await expectLocked(dir);
      // A clean exit releases the folder.
      holder.process.stdin?.end('close\n');
      await holder.exited;
      expect(holder.output()).toContain('closed\n');
    } finally {
      holder.process.kill('SIGKILL');
    }
    const reopened = await open(dir);
    expect(reopened.lastIndex()).toBe(1);
    await reopened.close();

    const crashing = start(dir);
    try {
      expect(await crashing.answer).toBe('opened');
      await expectLocked(dir);
    } finally {
      // So does a crash: the lock goes with the process.
      crashing.process.kill('SIGKILL');
      await crashing.exited;
    }
    const afterCrash = await open(dir);
    expect(afterCrash.lastIndex()).toBe(1);
    await afterCrash.close();
  }, 120_000);
});

describe('a folder without its identity record', () => {
  it('is refused with StorageCorrupted naming the identity record, not initialised over', async () => {
    const dir = temp.make();
    const log = await open(dir);
    await log.write({
      entries: [{ index: 1 as LogIndex, term: 1 as Term, type: 'normal', data: Uint8Array.of(7) }],
      sync: true,
    });
    await log.close();
    const db = new Level<Uint8Array, Uint8Array>(join(dir, 'db'), {
      keyEncoding: 'view',
      valueEncoding: 'view',
    });
    await db.del(IDENTITY_KEY);
    await db.close();
    const error = await failureOf(open(dir));
    expect(error.code).toBe('StorageCorrupted');
    expect(error.key).toBe('identity');
    expect(error.message).toContain('no identity record');
    // Refused again: the first refusal wrote nothing (no fresh identity, no reset log).
    expect((await failureOf(open(dir))).code).toBe('StorageCorrupted');
  });

  it('refuses a database written by something else', async () => {
    const dir = temp.make();
    const db = new Level<Uint8Array, Uint8Array>(join(dir, 'db'), {
      keyEncoding: 'view',
      valueEncoding: 'view',
    });
    await db.put(Uint8Array.of(0x7a), Uint8Array.of(1, 2, 3));
    await db.close();
    const error = await failureOf(open(dir));
    expect(error.code).toBe('StorageCorrupted');
    expect(error.key).toBe('identity');
  });
});
