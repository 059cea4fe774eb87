/**
 * Runs the `cairn` command as a child process the way `pnpm cairn` does (tsx, the `source`
 * condition), reads its output line by line, and waits for lines with a bound. `stop()` sends a
 * signal and waits for the exit; `kill()` SIGKILLs whatever still runs (tests call it in
 * `afterEach`).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const rootDir = fileURLToPath(new URL('../../..', import.meta.url));
export const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
/** tsx by absolute URL, so a child started in a temporary folder still finds it. */
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const NODE_ARGS = ['--import', TSX, '--conditions=source', MAIN];
/** The environment of every `cairn` child: no shell history written to the user's home. */
const CHILD_ENV: NodeJS.ProcessEnv = { ...process.env, CAIRN_HISTORY: '' };
/** How long a line may take to appear (tsx compiles on first start). */
const LINE_TIMEOUT_MS = 30_000;
/** A bound on one-shot commands. */
const RUN_TIMEOUT_MS = 60_000;

export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `cairn ...args` to its end. */
export function runCairn(
  args: readonly string[],
  options: { cwd?: string; input?: string } = {},
): RunResult {
  const result = spawnSync(process.execPath, [...NODE_ARGS, ...args], {
    cwd: options.cwd ?? rootDir,
    input: options.input ?? '',
    env: CHILD_ENV,
    encoding: 'utf8',
    timeout: RUN_TIMEOUT_MS,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

export class CairnProcess {
  readonly lines: string[] = [];
  stderr = '';
  private readonly waiters: { pattern: RegExp; resolve: (m: RegExpExecArray) => void }[] = [];
  readonly exited: Promise<number | null>;

  private constructor(readonly child: ChildProcess) {
    let buffered = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      for (const line of parts) this.line(line);
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static spawn(
    args: readonly string[],
    cwd: string = rootDir,
    env: NodeJS.ProcessEnv = CHILD_ENV,
  ): CairnProcess {
    return new CairnProcess(
      spawn(process.execPath, [...NODE_ARGS, ...args], {
        cwd,
        env,
        stdio: ['pipe', 'pipe', 'pipe'],
      }),
    );
  }

  /** Writes one line to the process's stdin (a shell's next command). */
  send(line: string): void {
    this.child.stdin?.write(`${line}\n`);
  }

  /** Resolves with the first stderr text matching `pattern` (polled, bounded like `waitFor`). */
  async waitForStderr(pattern: RegExp, timeoutMs = LINE_TIMEOUT_MS): Promise<RegExpExecArray> {
    const polls = Math.ceil(timeoutMs / 50);
    for (let i = 0; i < polls; i++) {
      const match = pattern.exec(this.stderr);
      if (match !== null) return match;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(
      `no stderr matching ${pattern} within ${timeoutMs} ms; stderr:\n${this.stderr}`,
    );
  }

  /** Resolves with the first line (already printed or not) matching `pattern`. */
  waitFor(pattern: RegExp, timeoutMs = LINE_TIMEOUT_MS): Promise<RegExpExecArray> {
    for (const line of this.lines) {
      const match = pattern.exec(line);
      if (match !== null) return Promise.resolve(match);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `no line matching ${pattern} within ${timeoutMs} ms; stdout:\n${this.lines.join('\n')}\nstderr:\n${this.stderr}`,
            ),
          ),
        timeoutMs,
      );
      this.waiters.push({
        pattern,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }

  /** Sends `signal` and resolves with the exit status (SIGKILL after `timeoutMs`). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000): Promise<number | null> {
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  private line(line: string): void {
    this.lines.push(line);
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const waiter = this.waiters[i];
      const match = waiter?.pattern.exec(line);
      if (waiter !== undefined && match) {
        this.waiters.splice(i, 1);
        waiter.resolve(match);
      }
    }
  }
}

/** `cairn start ...` until it prints its client port. */
export async function startCairn(
  args: readonly string[],
  cwd?: string,
): Promise<{ process: CairnProcess; host: string; port: number }> {
  const process = CairnProcess.spawn(['start', ...args], cwd);
  try {
    const match = await process.waitFor(/^client port (\S+):(\d+)$/);
    return { process, host: match[1] as string, port: Number(match[2]) };
  } catch (error) {
    process.kill();
    throw error;
  }
}
