import type { ChainableCommander, Redis } from 'ioredis';

/** What one call of a script passes: its keys and arguments by name, then any variable-length tail. */
export type ScriptInput<K extends string, A extends string> = {
  keys: Readonly<Record<K, string>>;
  args: Readonly<Record<A, string | number>>;
  /** Variable-length arguments after the named ones; the Lua reads them as `ARGV[REST + i]`. */
  rest?: readonly (string | number)[];
};

/** A Lua script with named keys and arguments, callable on a connection or a pipeline. */
export type RedisScript<K extends string, A extends string> = {
  readonly name: string;
  /** The Redis command name the script is defined under (ioredis defineCommand). */
  readonly command: string;
  readonly keys: readonly K[];
  readonly args: readonly A[];
  /** The Lua as Redis runs it: the name preamble, then the body. */
  readonly lua: string;
  /** Makes the script callable on `redis` and on the pipelines created from it afterwards. */
  install(redis: Redis): void;
  /** Runs the script; on a pipeline it queues the call (and the pipeline's exec carries the reply). */
  <R = unknown>(target: Redis | ChainableCommander, input: ScriptInput<K, A>): Promise<R>;
};

const NAME = /^[a-z][A-Za-z0-9]*$/;

/**
 * Defines a Lua script whose body reads `K.<name>` and `A.<name>` instead of KEYS[n]/ARGV[n]: the
 * positions are derived from the same lists the TypeScript call is checked against, so no file ever
 * has to agree with another on a position. `REST` is the number of named arguments.
 */
export function defineScript<const K extends string, const A extends string>(definition: {
  name: string;
  keys: readonly K[];
  args: readonly A[];
  lua: string;
}): RedisScript<K, A> {
  const { name, keys, args } = definition;
  for (const item of [name, ...keys, ...args]) {
    if (!NAME.test(item)) throw new Error(`script ${name}: "${item}" is not a plain identifier`);
  }
  const duplicate = [...keys, ...args].find((item, index, all) => all.indexOf(item) !== index);
  if (duplicate !== undefined) throw new Error(`script ${name}: "${duplicate}" is named twice`);
  const table = (names: readonly string[], source: string) =>
    `{${names.map((item, index) => `${item} = ${source}[${index + 1}]`).join(', ')}}`;
  const lua = [
    `local K = ${table(keys, 'KEYS')}`,
    `local A = ${table(args, 'ARGV')}`,
    `local REST = ${args.length}`,
    definition.lua.trim(),
  ].join('\n');
  const command = `isweep${name[0]!.toUpperCase()}${name.slice(1)}`;

  const install = (redis: Redis): void => {
    if (!(command in redis)) redis.defineCommand(command, { numberOfKeys: keys.length, lua });
  };
  const run = (<R>(target: Redis | ChainableCommander, input: ScriptInput<K, A>): Promise<R> => {
    if (typeof (target as Redis).defineCommand === 'function') install(target as Redis);
    const method = (target as unknown as Record<string, unknown>)[command];
    if (typeof method !== 'function') {
      throw new Error(`script ${name} is not installed on the connection this pipeline came from`);
    }
    const argv = [
      ...keys.map((key) => input.keys[key]),
      ...args.map((arg) => input.args[arg]),
      ...(input.rest ?? []),
    ];
    return (method as (...values: (string | number)[]) => Promise<R>).apply(target, argv);
  }) as RedisScript<K, A>;
  // A function's own `name` is read-only to assignment, so it is (re)defined instead.
  Object.defineProperty(run, 'name', { value: name });
  return Object.assign(run, { command, keys, args, lua, install });
}

/** Checks a set of scripts for clashing command names and returns it unchanged. */
export function scriptRegistry<const T extends Record<string, RedisScript<string, string>>>(scripts: T): T {
  const seen = new Map<string, string>();
  for (const [entry, script] of Object.entries(scripts)) {
    const other = seen.get(script.command);
    if (other !== undefined) throw new Error(`scripts ${other} and ${entry} share ${script.command}`);
    seen.set(script.command, entry);
  }
  return scripts;
}

/** Installs every script of a registry on a connection (before pipelines are created from it). */
export function installScripts(redis: Redis, scripts: Record<string, RedisScript<string, string>>): void {
  for (const script of Object.values(scripts)) script.install(redis);
}
