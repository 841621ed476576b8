import { DefaultLogger, Runtime } from '@temporalio/worker';

// Workers in tests log warnings and errors only; their INFO lines would bury jest's own output.
try {
  Runtime.install({ logger: new DefaultLogger('WARN') });
} catch {
  // already installed in this worker process
}
