// One sweep job's process: runs a perennial command line, and dies with the worker that started
// it (its IPC channel closes), so a job whose worker was killed does not go on in the background.
// The listener comes before the CLI is loaded (loading takes seconds), hence the dynamic import.
const orphaned = (): never => process.exit(137);
if (process.send) {
  process.on('disconnect', orphaned);
  // Node reads the channel (and so notices it close) only with a 'message' listener; unref'd,
  // it does not keep the process alive once the command is done.
  process.on('message', () => {});
  process.channel?.unref();
}
const { main } = await import('./index.js');
if (process.send && !process.connected) orphaned();
const code = await main(process.argv.slice(2));
process.off('disconnect', orphaned);
if (process.connected) process.disconnect();
process.exitCode = code;
