// Stand-ins for process.stdout.write in tests that run the CLI in-process. Under `node --test` the
// runner sends its own events to the parent through this process's stdout as binary chunks; a
// stand-in that swallowed them lost test results and, when a command awaited (the CLI loads its
// area modules on demand), put the runner's bytes into the captured text. Strings go to `sink`;
// every other chunk goes to the real stdout.
type Write = typeof process.stdout.write;

export function textOnly(sink: (s: string) => void = () => {}): Write {
  const real = process.stdout.write.bind(process.stdout) as (...a: unknown[]) => boolean;
  return ((chunk: unknown, ...rest: unknown[]) => {
    if (typeof chunk === 'string') { sink(chunk); return true; }
    return real(chunk, ...rest);
  }) as Write;
}
