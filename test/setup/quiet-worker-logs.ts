import { DefaultLogger, Runtime } from '@temporalio/worker';

// Workers in tests log errors only: their INFO lines, and the WARN line of every activity failure the
// fault tests inject on purpose, would bury jest's own output.
try {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
} catch {
  // already installed in this worker process
}
