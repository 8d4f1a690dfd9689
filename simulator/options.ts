import { Decimal } from './money.js';
import { SimulatorError } from './simulator-error.js';
import type { ResolvedOptions, SimulatorOptions } from './types.js';

export const DEFAULT_DEPOSIT_EVENT_TYPE = 'CRYPTO_CONNECT_TRANSFER.UPDATED';

/** Fills the defaults and rejects nonsense early, so a typo fails at start rather than mid-test. */
export function resolveOptions(options: SimulatorOptions): ResolvedOptions {
  const resolved: ResolvedOptions = {
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    webhookSecret: options.webhookSecret ?? options.clientSecret,
    tokenTtlSeconds: options.tokenTtlSeconds ?? 86_400,
    invalidatePreviousTokens: options.invalidatePreviousTokens ?? true,
    authFailure: options.authFailure ?? 'http-401',
    feeRate: options.feeRate ?? '0.005',
    seed: options.seed ?? 1,
    latencyMs: options.latencyMs ?? 0,
    depositEventType: options.depositEventType ?? DEFAULT_DEPOSIT_EVENT_TYPE,
    businessErrorHttpStatus: options.businessErrorHttpStatus ?? 200,
    authCodeTtlSeconds: options.authCodeTtlSeconds ?? 300,
    deliveryTimeoutMs: options.deliveryTimeoutMs ?? 5_000,
    convertFeeRate: options.convertFeeRate ?? '0.005',
    withdrawGas: options.withdrawGas ?? '0.2',
    withdrawGasMode: options.withdrawGasMode ?? 'deducted',
    withdrawConfirmMs: options.withdrawConfirmMs ?? 0,
    withdrawalEventType: options.withdrawalEventType ?? DEFAULT_DEPOSIT_EVENT_TYPE,
    webhookUrl: options.webhookUrl,
    duplicateWalletReference: options.duplicateWalletReference ?? 'existing',
    now: options.now ?? Date.now,
  };
  const problems: string[] = [];
  if (typeof resolved.clientId !== 'string' || resolved.clientId === '')
    problems.push('clientId must be non-empty');
  if (typeof resolved.clientSecret !== 'string' || resolved.clientSecret === '') {
    problems.push('clientSecret must be non-empty');
  }
  if (resolved.webhookSecret === '') problems.push('webhookSecret must be non-empty');
  if (!isInt(resolved.tokenTtlSeconds, 1)) problems.push('tokenTtlSeconds must be a positive integer');
  if (!isInt(resolved.authCodeTtlSeconds, 1)) problems.push('authCodeTtlSeconds must be a positive integer');
  if (resolved.authFailure !== 'http-401' && resolved.authFailure !== 'code-401003') {
    problems.push('authFailure must be "http-401" or "code-401003"');
  }
  if (!isFeeRate(resolved.feeRate)) problems.push('feeRate must be a decimal string in [0, 1)');
  if (!isFeeRate(resolved.convertFeeRate)) problems.push('convertFeeRate must be a decimal string in [0, 1)');
  if (typeof resolved.withdrawGas !== 'string' || !/^\d+(\.\d+)?$/.test(resolved.withdrawGas)) {
    problems.push('withdrawGas must be a non-negative decimal string');
  }
  if (resolved.withdrawGasMode !== 'deducted' && resolved.withdrawGasMode !== 'on-top') {
    problems.push('withdrawGasMode must be "deducted" or "on-top"');
  }
  if (!isInt(resolved.withdrawConfirmMs, 0))
    problems.push('withdrawConfirmMs must be a non-negative integer');
  if (!isInt(resolved.seed, -0x80000000) || resolved.seed > 0xffffffff)
    problems.push('seed must be a 32-bit integer');
  if (!isInt(resolved.latencyMs, 0)) problems.push('latencyMs must be a non-negative integer');
  if (!isInt(resolved.deliveryTimeoutMs, 1)) problems.push('deliveryTimeoutMs must be a positive integer');
  if (typeof resolved.depositEventType !== 'string' || resolved.depositEventType === '') {
    problems.push('depositEventType must be non-empty');
  }
  if (!isInt(resolved.businessErrorHttpStatus, 200) || resolved.businessErrorHttpStatus > 499) {
    problems.push('businessErrorHttpStatus must be an HTTP status from 200 to 499');
  }
  if (!['existing', 'error', 'create'].includes(resolved.duplicateWalletReference)) {
    problems.push('duplicateWalletReference must be "existing", "error" or "create"');
  }
  if (problems.length > 0) throw new SimulatorError(400, `invalid simulator options: ${problems.join('; ')}`);
  return resolved;
}

function isInt(value: unknown, min: number): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min;
}

function isFeeRate(value: unknown): boolean {
  if (typeof value !== 'string' || !/^\d+(\.\d+)?$/.test(value)) return false;
  return new Decimal(value).lt(1);
}
