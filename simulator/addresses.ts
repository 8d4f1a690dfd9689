import type { Prng } from './prng.js';

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const BECH32 = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';

/** A plausible-looking deposit address for a chain; only its shape matters, nothing checks a checksum. */
export function fakeAddress(chain: string, prng: Prng): string {
  switch (chain.toUpperCase()) {
    case 'TRON':
    case 'TRX':
      return `T${prng.pick(BASE58, 33)}`;
    case 'BTC':
      return `bc1q${prng.pick(BECH32, 38)}`;
    case 'SOL':
    case 'SOLANA':
      return prng.pick(BASE58, 44);
    default:
      // ETH and the EVM chains (ARB, BSC, POLYGON, BASE, OP...) share one address format.
      return `0x${prng.hex(20)}`;
  }
}

/** A plausible transaction hash for a chain. */
export function fakeTxHash(chain: string, prng: Prng): string {
  switch (chain.toUpperCase()) {
    case 'TRON':
    case 'TRX':
    case 'BTC':
      return prng.hex(32);
    case 'SOL':
    case 'SOLANA':
      return prng.pick(BASE58, 88);
    default:
      return `0x${prng.hex(32)}`;
  }
}
