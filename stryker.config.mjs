// @ts-check
// Mutation testing of the money modules (issue #9 item 8): `npm run mutate`. Not part of `npm test`;
// docs/mutation.md has the scores, the time a run takes and every surviving mutant with why it is
// acceptable.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  // Only the unit and store tests of these modules; `related` narrows them further to the test files
  // that import the mutated file, and perTest coverage to the tests that reach the mutant.
  vitest: { configFile: 'vitest.mutation.config.ts', related: true },
  coverageAnalysis: 'perTest',
  mutate: [
    'src/policy/*.ts',
    // Publishing the policy to Redis is I/O, tested only through the operator CLI's child processes
    // (test/ops/service-policy.test.ts), which Stryker cannot see: docs/mutation.md, "Left out".
    '!src/policy/service-policy.ts',
    'src/sweep/amounts.ts',
    'src/sweep/decimal.ts',
    'src/sweep/transaction-id.ts',
    'src/interlace/webhook-signature.ts',
    'src/interlace/errors.ts',
    'src/interlace/access-token.ts',
    'src/deposits/deposit-store.ts',
    'src/deposits/deposit-state.ts',
  ],
  // The CI machines have 2 cores shared with the suite's Redis; one test process at a time.
  concurrency: 1,
  // Reruns test only the mutants whose code or tests changed since the last run.
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 90, low: 80, break: 80 },
  tempDirName: '.stryker-tmp',
  ignorePatterns: ['dist', 'dist-bench', 'coverage', 'reports', 'bench', '.stryker-tmp'],
};
