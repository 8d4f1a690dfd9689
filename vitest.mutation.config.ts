import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * Runs the pure unit tests before the Redis-backed ones. Stryker stops a mutant's run at its first
 * failing test, so most mutants are killed in milliseconds instead of after a Redis round of tests.
 * This matters most for "static" mutants (the transition tables, built at import), which run every
 * related test file.
 */
class PureTestsFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (file: TestSpecification) =>
      /test\/(deposits\/|interlace\/access-token)/.test(file.moduleId) ? 1 : 0;
    return [...files].sort((a, b) => rank(a) - rank(b) || a.moduleId.localeCompare(b.moduleId));
  }
}

/**
 * The tests `npm run mutate` (stryker.config.mjs) runs against each mutant: the unit tests of the money
 * modules and the few Redis-backed tests of their stateful side (token, deposit store). Listing them
 * keeps a run to minutes; the whole suite (simulator, workers, soak) would take hours per mutant set.
 * Spread, not mergeConfig: mergeConfig concatenates `include` with the base's `test/**` glob.
 */
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: [
      'test/policy/*.test.ts',
      'test/sweep/amounts.test.ts',
      'test/sweep/decimal.test.ts',
      'test/sweep/transaction-id.test.ts',
      'test/interlace/webhook-signature.test.ts',
      'test/interlace/errors.test.ts',
      'test/interlace/access-token.test.ts',
      'test/deposits/*.test.ts',
    ],
    sequence: { sequencer: PureTestsFirst },
  },
});
