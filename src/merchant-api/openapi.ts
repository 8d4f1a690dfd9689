import { packageVersion } from '../build-info.js';
import { PAYOUT_STATES } from '../policy/payout-policy.js';
import { API_ERROR_STATUS, type ApiErrorCode } from './api-error.js';

// The merchant API's OpenAPI 3.1 document, served at GET /openapi.json. It is code (not a JSON file)
// so that it ships in dist/ with the service and shares its constants (error codes, states); the
// contract tests (test/merchant-api/contract.test.ts) check every real answer of the API against it.

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const isoTime = { type: 'string', format: 'date-time' } as const;
const nullable = (schema: Record<string, unknown>) => ({ oneOf: [schema, { type: 'null' }] });
const decimal = { type: 'string', pattern: '^-?\\d+(\\.\\d+)?$' } as const;

const errorResponse = (codes: readonly ApiErrorCode[], description: string) => ({
  description,
  content: {
    'application/json': {
      schema: {
        allOf: [ref('Error'), { properties: { error: { properties: { code: { enum: [...codes] } } } } }],
      },
    },
  },
});

const json = (schema: Record<string, unknown>, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

/** The errors every authenticated operation can answer. */
const commonErrors = {
  '401': errorResponse(['unauthorized'], 'No API key, or an unknown one'),
  '403': errorResponse(['forbidden'], 'The key lacks a scope the operation needs'),
  '500': errorResponse(['server_error'], 'An unexpected failure (never a stack trace)'),
  '503': errorResponse(['service_unavailable'], 'Interlace or Redis is unavailable now; retry later'),
};

const idParam = {
  name: 'id',
  in: 'path',
  required: true,
  description: "This service's wallet id (a UUID)",
  schema: { type: 'string' },
};
const limitParam = {
  name: 'limit',
  in: 'query',
  required: false,
  description: 'Page size, 1 to 200 (default WALLET_LIST_DEFAULT_LIMIT, 50)',
  schema: { type: 'integer', minimum: 1, maximum: 200 },
};
const cursorParam = {
  name: 'cursor',
  in: 'query',
  required: false,
  description: 'The `next_cursor` of the previous page',
  schema: { type: 'string' },
};

/** The document, built once per call (callers keep it). */
export function openApiDocument() {
  const errorCodes = Object.keys(API_ERROR_STATUS) as ApiErrorCode[];
  return {
    openapi: '3.1.0',
    info: {
      title: 'interlace-sweep merchant API',
      version: packageVersion(),
      description:
        'Wallets for the merchant\'s customers (deposit addresses at Interlace CryptoConnect), their deposits, and payouts. Errors are `{"error":{"code","message","details"}}` (seed 002). See docs/wallets.md.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    security: [{ apiKey: [] }, { bearer: [] }],
    paths: {
      '/wallets': {
        post: {
          operationId: 'createWallet',
          summary: 'Create a wallet (scopes read and write; MoR mode only)',
          requestBody: {
            required: true,
            content: { 'application/json': { schema: ref('CreateWalletRequest') } },
          },
          responses: {
            '201': json(ref('WalletDetail'), 'The wallet, created at Interlace'),
            '400': errorResponse(
              ['invalid_request', 'duplicate_external_id'],
              'A bad body, gateway mode, or an external_id that already names a wallet',
            ),
            ...commonErrors,
          },
        },
        get: {
          operationId: 'listWallets',
          summary: 'List wallets, oldest first, or find one by external_id (scope read)',
          parameters: [
            {
              name: 'external_id',
              in: 'query',
              required: false,
              description: 'Only the wallet with this external_id (a list of zero or one)',
              schema: { type: 'string' },
            },
            limitParam,
            cursorParam,
          ],
          responses: {
            '200': json(ref('WalletList'), 'A page of wallets'),
            '400': errorResponse(['invalid_request'], 'A bad query parameter'),
            ...commonErrors,
          },
        },
      },
      '/wallets/{id}': {
        get: {
          operationId: 'getWallet',
          summary: 'A wallet with its balances and addresses at Interlace (scope read)',
          parameters: [idParam],
          responses: {
            '200': json(ref('WalletDetail'), 'The wallet'),
            '404': errorResponse(['not_found'], 'No wallet has this id'),
            ...commonErrors,
          },
        },
      },
      '/wallets/{id}/addresses': {
        post: {
          operationId: 'createWalletAddress',
          summary: 'A new deposit address of the wallet (scopes read and write)',
          parameters: [idParam],
          requestBody: {
            required: true,
            content: { 'application/json': { schema: ref('CreateAddressRequest') } },
          },
          responses: {
            '201': json(ref('Address'), 'The address'),
            '400': errorResponse(['invalid_request'], 'A bad body, or Interlace refused the currency/chain'),
            '404': errorResponse(['not_found'], 'No wallet has this id'),
            ...commonErrors,
          },
        },
      },
      '/wallets/{id}/deposits': {
        get: {
          operationId: 'listWalletDeposits',
          summary: 'Deposits into the wallet, newest first (scope read)',
          parameters: [idParam, limitParam, cursorParam],
          responses: {
            '200': json(ref('DepositList'), 'A page of deposits'),
            '400': errorResponse(['invalid_request'], 'A bad query parameter'),
            '404': errorResponse(['not_found'], 'No wallet has this id'),
            ...commonErrors,
          },
        },
      },
      '/payouts': {
        post: {
          operationId: 'createPayout',
          summary: 'Request a payout (scopes read and write; idempotent on external_id)',
          requestBody: {
            required: true,
            content: { 'application/json': { schema: ref('CreatePayoutRequest') } },
          },
          responses: {
            '200': json(ref('Payout'), 'The same request again: the existing payout'),
            '201': json(ref('Payout'), 'The payout, recorded'),
            '400': errorResponse(
              ['invalid_request', 'duplicate_external_id'],
              'A bad request, or an external_id already used by a different payout',
            ),
            ...commonErrors,
          },
        },
        get: {
          operationId: 'listPayouts',
          summary: 'Payouts, newest first (scope read)',
          parameters: [
            {
              name: 'state',
              in: 'query',
              required: false,
              schema: { type: 'string', enum: [...PAYOUT_STATES] },
            },
            { ...limitParam, description: 'How many, 1 to 200 (default 50)' },
          ],
          responses: {
            '200': json(
              {
                type: 'object',
                required: ['data'],
                properties: { data: { type: 'array', items: ref('Payout') } },
              },
              'The payouts',
            ),
            '400': errorResponse(['invalid_request'], 'A bad query parameter'),
            ...commonErrors,
          },
        },
      },
      '/payouts/{id}': {
        get: {
          operationId: 'getPayout',
          summary: 'A payout with its history (scope read)',
          parameters: [{ ...idParam, description: 'The payout id, or its external_id' }],
          responses: {
            '200': json(ref('PayoutDetail'), 'The payout'),
            '404': errorResponse(['not_found'], 'No such payout'),
            ...commonErrors,
          },
        },
      },
    },
    components: {
      securitySchemes: {
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        bearer: { type: 'http', scheme: 'bearer', description: 'The same API key as a Bearer token' },
      },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          additionalProperties: false,
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message', 'details'],
              additionalProperties: false,
              properties: {
                code: { type: 'string', enum: errorCodes },
                message: { type: 'string' },
                details: { type: 'object' },
              },
            },
          },
        },
        CreateWalletRequest: {
          type: 'object',
          required: ['name', 'external_id'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 100 },
            external_id: {
              type: 'string',
              pattern: '^[\\x21-\\x7e]{1,128}$',
              description: 'Your id for the wallet, unique across the service',
            },
          },
        },
        Wallet: {
          type: 'object',
          required: ['id', 'name', 'external_id', 'wallet_id', 'state', 'mode', 'created', 'updated'],
          additionalProperties: false,
          properties: {
            id: { type: 'string', format: 'uuid' },
            name: { type: 'string' },
            external_id: { type: 'string' },
            wallet_id: {
              ...nullable({ type: 'string' }),
              description: "Interlace's CryptoConnect wallet id",
            },
            state: {
              type: 'string',
              enum: ['creating', 'active'],
              description: '`creating` until Interlace has the wallet (a retried POST /wallets finishes it)',
            },
            mode: { type: 'string', enum: ['mor', 'gateway'] },
            created: isoTime,
            updated: isoTime,
          },
        },
        WalletDetail: {
          type: 'object',
          required: [
            'id',
            'name',
            'external_id',
            'wallet_id',
            'state',
            'mode',
            'created',
            'updated',
            'balances',
            'addresses',
          ],
          additionalProperties: false,
          properties: {
            id: { type: 'string', format: 'uuid' },
            name: { type: 'string' },
            external_id: { type: 'string' },
            wallet_id: nullable({ type: 'string' }),
            state: { type: 'string', enum: ['creating', 'active'] },
            mode: { type: 'string', enum: ['mor', 'gateway'] },
            created: isoTime,
            updated: isoTime,
            balances: { type: 'array', items: ref('Balance') },
            addresses: { type: 'array', items: ref('WalletAddress') },
          },
        },
        Balance: {
          type: 'object',
          required: ['currency', 'available', 'frozen'],
          additionalProperties: false,
          properties: { currency: { type: 'string' }, available: decimal, frozen: decimal },
        },
        WalletAddress: {
          type: 'object',
          required: ['currency', 'chain', 'address', 'selected'],
          additionalProperties: false,
          properties: {
            currency: { type: 'string' },
            chain: { type: 'string' },
            address: { type: 'string' },
            selected: { type: 'boolean' },
          },
        },
        WalletList: {
          type: 'object',
          required: ['data', 'next_cursor'],
          additionalProperties: false,
          properties: {
            data: { type: 'array', items: ref('Wallet') },
            next_cursor: nullable({ type: 'string' }),
          },
        },
        CreateAddressRequest: {
          type: 'object',
          required: ['currency', 'chain'],
          additionalProperties: false,
          properties: {
            currency: { type: 'string', examples: ['USDC'] },
            chain: { type: 'string', examples: ['ETH'] },
          },
        },
        Address: {
          type: 'object',
          required: ['wallet', 'currency', 'chain', 'address', 'selected'],
          additionalProperties: false,
          properties: {
            wallet: { type: 'string', format: 'uuid', description: "The wallet's id" },
            currency: { type: 'string' },
            chain: { type: 'string' },
            address: { type: 'string' },
            selected: { type: 'boolean' },
          },
        },
        Deposit: {
          type: 'object',
          required: [
            'id',
            'wallet_id',
            'external_id',
            'state',
            'upstream_status',
            'currency',
            'amount',
            'chain',
            'tx_hash',
            'address',
            'fee',
            'fee_currency',
            'net_usd',
            'transfer_id',
            'reason',
            'created',
            'updated',
            'swept_at',
          ],
          additionalProperties: false,
          properties: {
            id: { type: 'string' },
            wallet_id: { type: 'string', format: 'uuid', description: "The wallet's id (this service's)" },
            external_id: { type: 'string' },
            state: { type: 'string', description: 'The sweep state (docs/deposit-state-machine.md)' },
            upstream_status: { type: 'string', description: "Interlace's status of the deposit" },
            currency: { type: 'string' },
            amount: decimal,
            chain: nullable({ type: 'string' }),
            tx_hash: nullable({ type: 'string' }),
            address: nullable({ type: 'string' }),
            fee: { ...nullable(decimal), description: 'Fees of the sweep, once swept' },
            fee_currency: nullable({ type: 'string' }),
            net_usd: { ...nullable(decimal), description: 'USD that reached the Infinity account' },
            transfer_id: nullable({ type: 'string' }),
            reason: nullable({ type: 'string' }),
            created: isoTime,
            updated: isoTime,
            swept_at: nullable(isoTime),
          },
        },
        DepositList: {
          type: 'object',
          required: ['data', 'next_cursor'],
          additionalProperties: false,
          properties: {
            data: { type: 'array', items: ref('Deposit') },
            next_cursor: nullable({ type: 'string' }),
          },
        },
        CreatePayoutRequest: {
          type: 'object',
          required: ['external_id', 'amount', 'currency', 'chain', 'address'],
          properties: {
            external_id: { type: 'string' },
            amount: { ...decimal, description: 'USD taken from the Infinity account' },
            currency: { type: 'string', examples: ['USDC'] },
            chain: { type: 'string', examples: ['ETH'] },
            address: { type: 'string' },
          },
        },
        FundsLocation: {
          type: 'object',
          required: ['at', 'amount', 'currency'],
          additionalProperties: false,
          properties: {
            at: {
              type: 'string',
              enum: ['infinity', 'cryptoconnect-wallet', 'in-transit', 'on-hold-at-interlace', 'destination'],
            },
            amount: decimal,
            currency: { type: 'string' },
          },
        },
        Payout: payoutSchema({}),
        PayoutDetail: payoutSchema({
          history: {
            type: 'array',
            items: {
              type: 'object',
              required: ['at', 'from', 'to', 'event'],
              properties: {
                at: { type: ['string', 'number'] },
                from: { type: 'string' },
                to: { type: 'string' },
                event: { type: 'string' },
              },
            },
          },
        }),
      },
    },
  };
}

/** A payout (docs/payouts.md): its record, every other field a string, where its money is, and `extra`. */
function payoutSchema(extra: Record<string, unknown>) {
  return {
    type: 'object',
    required: [
      'payoutId',
      'externalId',
      'amount',
      'currency',
      'chain',
      'address',
      'state',
      'stage',
      'createdAt',
      'updatedAt',
      'funds',
      ...Object.keys(extra),
    ],
    properties: {
      payoutId: { type: 'string' },
      externalId: { type: 'string' },
      amount: decimal,
      state: { type: 'string', enum: [...PAYOUT_STATES] },
      funds: ref('FundsLocation'),
      ...extra,
    },
    additionalProperties: { type: 'string' },
  };
}
