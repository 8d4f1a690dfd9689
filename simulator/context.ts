import type { EventEmitter } from 'node:events';
import { FaultInjector } from './faults.js';
import { PayoutBooks, type SimWithdrawal } from './payout-books.js';
import { createPrng, deriveSeed, type Prng } from './prng.js';
import { RequestLog, Timers, TransferCallLog, type SimEvents } from './runtime.js';
import { SimState } from './state.js';
import { TokenStore } from './tokens.js';
import type { ResolvedOptions } from './types.js';

const REQUEST_LOG_LIMIT = 100_000;

/**
 * Everything the routes and the Simulator share. reset() swaps the stores for fresh ones, so
 * routes must read them from here on every call rather than keep their own references.
 */
export type SimContext = {
  readonly options: ResolvedOptions;
  readonly events: EventEmitter<SimEvents>;
  readonly timers: Timers;
  readonly log: RequestLog;
  readonly calls: TransferCallLog;
  readonly faults: FaultInjector;
  ids: Prng;
  state: SimState;
  tokens: TokenStore;
  books: PayoutBooks;
  /** Called when a withdrawal is created (the Simulator notifies the receiver and moves it on). */
  onWithdrawal: (withdrawal: SimWithdrawal, fault: string | null) => void;
};

// Ids and faults draw from separate streams: creating one more wallet must not shift the faults.
const ID_STREAM = 1;
const FAULT_STREAM = 2;

export function createContext(options: ResolvedOptions, events: EventEmitter<SimEvents>): SimContext {
  const ids = createPrng(deriveSeed(options.seed, ID_STREAM));
  return {
    options,
    events,
    timers: new Timers(),
    log: new RequestLog(REQUEST_LOG_LIMIT),
    calls: new TransferCallLog(),
    faults: new FaultInjector(createPrng(deriveSeed(options.seed, FAULT_STREAM))),
    ids,
    state: new SimState(options, ids),
    tokens: new TokenStore(options, ids),
    books: new PayoutBooks(options.webhookUrl),
    onWithdrawal: () => undefined,
  };
}

/** Back to a freshly created simulator with the same options and seed: same ids, same faults. */
export function resetContext(context: SimContext): void {
  const ids = createPrng(deriveSeed(context.options.seed, ID_STREAM));
  context.ids = ids;
  context.state = new SimState(context.options, ids);
  context.tokens = new TokenStore(context.options, ids);
  context.books = new PayoutBooks(context.options.webhookUrl);
  context.faults.reset(createPrng(deriveSeed(context.options.seed, FAULT_STREAM)));
  context.log.clear();
  context.calls.clear();
}
