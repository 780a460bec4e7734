// The `perennial` command: a thin layer over the areas' public APIs.
import { Command, CommanderError } from 'commander';
import { InputError, NumericalError, ParseError } from '../core/errors.js';
import { versions } from '../core/record.js';
import { registerImplicitFile } from '../core/fsx.js';
import { indexingOff, resolveStorePath } from '../core/store/db.js';
import { loadAreas } from './areas.js';

let storeGuarded = false;

/** Global options that take a value (the next word, unless written `--name=value`). */
const GLOBAL_WITH_VALUE = new Set(['--tf-backend']);

/** The first word of `argv` that is not a global option or its value: the command to run, or null. */
function firstCommand(argv: readonly string[]): string | null {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (GLOBAL_WITH_VALUE.has(a)) i++;
    else if (!a.startsWith('-')) return a;
  }
  return null;
}

/**
 * The program with the commands `argv` needs registered (all of them without `argv`; see
 * areas.ts): `perennial --version` loads none, `perennial crystal ...` only crystal's.
 */
export async function buildProgram(argv?: readonly string[]): Promise<Command> {
  // Every record is also indexed in the run store, so no output may be the store's file.
  if (!storeGuarded) {
    storeGuarded = true;
    registerImplicitFile(() => (indexingOff() ? null : { path: resolveStorePath(), what: 'the run store (PERENNIAL_STORE, default runs/perennial.db)' }));
  }
  const program = new Command();
  program.name('perennial').description('continual learning, matrix information, theory, LLM evaluation, breakout detection and crystallography').version(versions().perennial ?? '0.0.0');
  program.option('--debug', 'print the stack trace of a failure (otherwise one line)');
  program.option('--tf-backend <name>', 'tfjs backend for training: wasm (default), webgpu (needs the webgpu package and a GPU adapter), auto (webgpu where an adapter answers, else wasm with a warning); env PERENNIAL_TF_BACKEND');
  program.hook('preAction', async () => {
    const b = program.opts<{ tfBackend?: string }>().tfBackend;
    if (b === undefined) return;
    // Loaded only when asked for: commands that never train do not start tfjs.
    const { parseTrainingBackend, setTrainingBackend } = await import('../core/tensor.js');
    setTrainingBackend(parseTrainingBackend(b, '--tf-backend'));
    // Worker processes (sweeps, job entries) start from the environment: they train on the same backend.
    process.env.PERENNIAL_TF_BACKEND = b;
  });
  program.exitOverride();
  const command = argv ? firstCommand(argv) : null;
  const versionOnly = argv !== undefined && command === null && (argv.includes('--version') || argv.includes('-V'));
  if (!versionOnly) for (const a of await loadAreas(command)) a.register(program);
  return program;
}

/** What a failed system call was doing, for the one-line message. */
const SYSCALL_WHAT: Record<string, string> = {
  open: 'cannot open', read: 'cannot read', write: 'cannot write', close: 'cannot close', fsync: 'cannot sync', ftruncate: 'cannot truncate',
  mkdir: 'cannot create the folder', rmdir: 'cannot remove the folder', unlink: 'cannot remove', rename: 'cannot rename', scandir: 'cannot list the folder',
  stat: 'cannot read', lstat: 'cannot read', fstat: 'cannot read', access: 'cannot access', realpath: 'cannot resolve', copyfile: 'cannot copy', symlink: 'cannot link',
  link: 'cannot link', chmod: 'cannot change the mode of', utime: 'cannot touch', listen: 'cannot listen on', bind: 'cannot bind', connect: 'cannot connect to',
  getaddrinfo: 'cannot resolve the host', spawn: 'cannot run',
};

/** Plain words for the common errno codes (Node's messages repeat the code and the syscall). */
const CODE_REASON: Record<string, string> = {
  ENOENT: 'no such file or folder', EACCES: 'permission denied', EPERM: 'operation not permitted', EISDIR: 'it is a folder', ENOTDIR: 'a part of the path is not a folder',
  EEXIST: 'it exists already', ENOTEMPTY: 'the folder is not empty', EROFS: 'read-only file system', ENOSPC: 'no space left on the device', EDQUOT: 'disk quota exceeded',
  EMFILE: 'too many open files', ENFILE: 'too many open files in the system', EBUSY: 'resource busy', ELOOP: 'too many levels of symbolic links', ENAMETOOLONG: 'file name too long',
  EXDEV: 'cross-device link', EIO: 'input/output error', EADDRINUSE: 'address already in use', EADDRNOTAVAIL: 'address not available on this machine',
  ECONNREFUSED: 'connection refused', ECONNRESET: 'connection reset', ETIMEDOUT: 'timed out', ENOTFOUND: 'host not found', EAI_AGAIN: 'host lookup failed (try again)',
  EPIPE: 'broken pipe', EFBIG: 'file too large', EINVAL: 'invalid argument',
};

interface SystemErrorLike { code?: unknown; syscall?: unknown; path?: unknown; dest?: unknown; address?: unknown; port?: unknown; hostname?: unknown; message?: unknown }

/**
 * A Node system error (ENOENT, EACCES, EADDRINUSE...) or a socket option error as one line
 * `<what> <path>: <reason> (<CODE>)`; null for anything else.
 */
export function describeSystemError(e: unknown): string | null {
  if (typeof e !== 'object' || e === null) return null;
  const x = e as SystemErrorLike;
  if (typeof x.code !== 'string') return null;
  const code = x.code;
  if (code === 'ERR_SOCKET_BAD_PORT') return `bad port: ${String(x.message).replace(/^options\.port/, 'the port')}`;
  if (!/^E[A-Z0-9_]+$/.test(code)) return null;
  const syscall = typeof x.syscall === 'string' ? x.syscall : '';
  const what = SYSCALL_WHAT[syscall] ?? (syscall ? `${syscall} failed on` : 'failed on');
  const where = typeof x.path === 'string' ? `${x.path}${typeof x.dest === 'string' ? ` -> ${x.dest}` : ''}`
    : typeof x.address === 'string' ? `${x.address}${typeof x.port === 'number' ? `:${x.port}` : ''}`
      : typeof x.hostname === 'string' ? x.hostname : '';
  const reason = CODE_REASON[code] ?? String(x.message ?? code).replace(/^[A-Z0-9_]+: /, '').replace(/, \w+ '.*'$/, '');
  return `${what}${where ? ` ${where}` : ''}: ${reason} (${code})`;
}

/** The one line printed for a failure, and the exit code: 2 for bad input, 1 for the environment or a bug. */
export function describeFailure(e: unknown): { line: string; code: number } {
  if (e instanceof ParseError || e instanceof InputError || e instanceof NumericalError) return { line: e.message, code: 2 };
  const sys = describeSystemError(e);
  if (sys) return { line: sys, code: 1 };
  const msg = e instanceof Error ? `${e.name === 'Error' ? '' : `${e.name}: `}${e.message}` : String(e);
  return { line: `internal error: ${msg} (rerun with --debug for the stack trace)`, code: 1 };
}

function wantsDebug(argv: readonly string[]): boolean {
  return argv.includes('--debug') || process.env.PERENNIAL_DEBUG === '1';
}

export async function main(argv: readonly string[]): Promise<number> {
  try {
    const program = await buildProgram(argv);
    await program.parseAsync(argv as string[], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    const { line, code } = describeFailure(e);
    process.stderr.write(`perennial: ${line}\n`);
    if (wantsDebug(argv) && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
    return code;
  }
}
