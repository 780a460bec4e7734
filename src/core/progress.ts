// Progress for long loops: a redrawn bar on a TTY, a line per stage otherwise, nothing when
// quiet (PERENNIAL_QUIET=1, or asked). Writes to stderr so stdout stays machine-readable.

export interface Progress {
  tick(n?: number, note?: string): void;
  done(note?: string): void;
}

export interface ProgressOptions {
  readonly quiet?: boolean;
  /** Line mode (not a TTY): seconds between lines on a long stage (default 10). */
  readonly heartbeatSeconds?: number;
  /** Where lines go (default stderr); tests pass their own. */
  readonly stream?: { write(s: string): unknown; isTTY?: boolean };
}

export function isQuiet(): boolean {
  return process.env.PERENNIAL_QUIET === '1';
}

/**
 * On a TTY: one live bar per stage, redrawn in place. Piped or under CI: one line when the stage
 * ends, plus a line every `heartbeatSeconds` on a long stage, so a log shows each stage once
 * without hundreds of step lines.
 */
export function progress(label: string, total: number, opts: ProgressOptions = {}): Progress {
  const quiet = opts.quiet ?? isQuiet();
  const out = opts.stream ?? process.stderr;
  const tty = Boolean(out.isTTY) && process.env.CI !== 'true';
  const heartbeat = (opts.heartbeatSeconds ?? 10) * 1000;
  const start = Date.now();
  let lastLine = start;
  let lastDraw = 0;
  let n = 0;
  let finished = false;
  const elapsed = (): string => ((Date.now() - start) / 1000).toFixed(1);
  const bar = (note?: string): void => {
    const frac = total > 0 ? Math.min(1, n / total) : 1;
    const width = 24;
    const fill = Math.round(frac * width);
    const rate = n > 0 ? (Date.now() - start) / n : 0;
    const eta = n > 0 && n < total ? ` eta ${((rate * (total - n)) / 1000).toFixed(0)}s` : '';
    out.write(`\r${label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${n}/${total} ${elapsed()}s${eta} ${note ?? ''}\x1b[K`);
  };
  const summary = (note?: string): void => {
    out.write(`${label}: ${n}/${total} done in ${elapsed()}s${note ? ' ' + note : ''}\n`);
  };
  return {
    tick(k = 1, note?: string) {
      n += k;
      if (quiet || finished) return;
      const now = Date.now();
      if (tty) {
        // Redraw at most ~10 times a second: a tight loop must not spend its time on the terminal.
        if (now - lastDraw >= 100 || n >= total) { lastDraw = now; bar(note); }
        return;
      }
      if (n >= total) { finished = true; summary(note); return; }
      if (now - lastLine >= heartbeat) {
        lastLine = now;
        out.write(`${label}: ${n}/${total} (${elapsed()}s)${note ? ' ' + note : ''}\n`);
      }
    },
    done(note?: string) {
      if (quiet || finished) return;
      finished = true;
      if (tty) { bar(note); out.write('\n'); } else summary(note);
    },
  };
}

/** Monotonic seconds, for timings in records. */
export function seconds(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}
