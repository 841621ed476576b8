import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

// The workers refuse every store but their own unless AGENTARK_STORE_ALLOW names it. Tests also keep
// stores in temporary folders and read the shared datasets beside the checkout, so their workers
// (in process, or spawned with this environment) allow exactly those two places as well.
const sharedDatasets = path.resolve(__dirname, '../../../shared/datasets');
const testStores = [tmpdir(), sharedDatasets].map((dir) => pathToFileURL(dir).href);
process.env.AGENTARK_STORE_ALLOW ??= testStores.join(',');

// A check that runs past its timeout is undecided and goes to the LLM verifier, which the scripted fake
// teacher refuses; on a loaded CI machine the default 5 s can pass for a check that takes milliseconds
// alone. Tests that exercise the timeout set their own.
process.env.AGENTARK_CHECK_TIMEOUT_MS ??= '30000';
