/** Jest runs TypeScript through swc (no type-check here: `make typecheck` does that). */
// The AWS SDK's notice about its future Node 22 requirement; the pinned SDK runs on Node 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  globalSetup: '<rootDir>/test/setup/global-setup.ts',
  globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
  setupFiles: ['<rootDir>/test/setup/quiet-worker-logs.ts', '<rootDir>/test/setup/store-allow.ts'],
  testTimeout: 120_000,
  maxWorkers: 2,
};
