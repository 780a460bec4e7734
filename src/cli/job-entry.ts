// One sweep job's process: runs a perennial command line, and dies with the worker that started
// it (its IPC channel closes), so a job whose worker was killed does not go on in the background.
import { main } from './index.js';

const orphaned = (): never => process.exit(137);
if (process.send) process.on('disconnect', orphaned);
const code = await main(process.argv.slice(2));
process.off('disconnect', orphaned);
if (process.connected) process.disconnect();
process.exitCode = code;
