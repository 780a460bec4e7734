// Progress for long loops: a redrawn bar on a TTY, one line per step otherwise, nothing when
// quiet (CI=true, PERENNIAL_QUIET=1, or asked). Writes to stderr so stdout stays machine-readable.

export interface Progress {
  tick(n?: number, note?: string): void;
  done(note?: string): void;
}

export interface ProgressOptions {
  readonly quiet?: boolean;
  /** In line mode, print at most every `everyLines`-th step (default: about 20 lines per loop). */
  readonly everyLines?: number;
}

export function isQuiet(): boolean {
  return process.env.PERENNIAL_QUIET === '1' || process.env.CI === 'true';
}

export function progress(label: string, total: number, opts: ProgressOptions = {}): Progress {
  const quiet = opts.quiet ?? isQuiet();
  const tty = Boolean(process.stderr.isTTY);
  const every = opts.everyLines ?? Math.max(1, Math.ceil(total / 20));
  const start = Date.now();
  let n = 0;
  const render = (note?: string): void => {
    const frac = total > 0 ? Math.min(1, n / total) : 1;
    const secs = ((Date.now() - start) / 1000).toFixed(1);
    if (tty) {
      const width = 24;
      const fill = Math.round(frac * width);
      process.stderr.write(`\r${label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${n}/${total} ${secs}s ${note ?? ''}\x1b[K`);
    } else {
      process.stderr.write(`${label}: ${n}/${total} (${secs}s)${note ? ' ' + note : ''}\n`);
    }
  };
  return {
    tick(k = 1, note?: string) {
      n += k;
      if (quiet) return;
      if (tty || n % every === 0 || n === total) render(note);
    },
    done(note?: string) {
      if (quiet) return;
      if (tty) { render(note); process.stderr.write('\n'); }
      else if (n % every !== 0 && n !== total) render(note);
    },
  };
}

/** Monotonic seconds, for timings in records. */
export function seconds(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}
