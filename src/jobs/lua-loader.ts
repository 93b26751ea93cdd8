/**
 * Lua scripts kept as files, the way BullMQ keeps its commands: one `<name>.lua` per script, shared helpers
 * in `includes/`, pulled in by a line `--- @include "includes/<helper>"` (expanded in place, each helper once
 * per script, helpers may include helpers).
 *
 * No script counts KEYS or ARGV: the loader puts a prelude in front of it, generated from what its entry in
 * the script table (scripts.ts) declares: `local <name>Key = KEYS[i]` for a key, `local <name>Keys = {
 * <member> = KEYS[i], ... }` for a group of keys, `local <name> = ARGV[i]` for an argument, a table of the
 * trailing arguments for a variadic one, and the shared constants.
 */
import { readFileSync } from 'node:fs';

/** A script's KEYS in order: a key by name, or a group of keys (one per member, e.g. per job state). */
export type KeySpec = string | { readonly group: string; readonly members: readonly string[] };

export interface LuaSignature {
  keys: readonly KeySpec[];
  args: readonly string[];
  /** the name of a table holding the arguments after `args` (any number) */
  rest?: string;
}

export type LuaConstant = number | string | readonly string[] | Readonly<Record<string, boolean>>;

const INCLUDE = /^--- @include "([\w/-]+)"[ \t]*$/gm;
const IDENTIFIER = /^[A-Za-z_]\w*$/;

/** The file's text with its includes expanded (`dir` holds the script and its `includes/`). */
export function expandIncludes(dir: URL, file: string, seen = new Set<string>()): string {
  const text = readFileSync(new URL(file, dir), 'utf8');
  return text.replace(INCLUDE, (_line, include: string) => {
    if (seen.has(include)) return `-- (${include}: included above)`;
    seen.add(include);
    return expandIncludes(dir, `${include}.lua`, seen).trimEnd();
  });
}

/** The prelude a script with `signature` gets: its keys and arguments by name, then the constants. */
export function prelude(signature: LuaSignature, constants: Readonly<Record<string, LuaConstant>>): string {
  const lines = ['-- generated from its entry in scripts.ts'];
  let key = 0;
  for (const spec of signature.keys) {
    if (typeof spec === 'string') {
      lines.push(`local ${identifier(spec)}Key = KEYS[${++key}]`);
    } else {
      const members = spec.members.map((m) => `${identifier(m)} = KEYS[${++key}]`);
      lines.push(`local ${identifier(spec.group)}Keys = { ${members.join(', ')} }`);
    }
  }
  signature.args.forEach((name, i) => {
    lines.push(`local ${identifier(name)} = ARGV[${i + 1}]`);
  });
  if (signature.rest) {
    const name = identifier(signature.rest);
    lines.push(`local ${name} = {}`);
    lines.push(`for i = ${signature.args.length + 1}, #ARGV do ${name}[#${name} + 1] = ARGV[i] end`);
  }
  for (const [name, value] of Object.entries(constants))
    lines.push(`local ${identifier(name)} = ${lua(value)}`);
  return `${lines.join('\n')}\n`;
}

/** How many KEYS a script with `signature` takes. */
export const keyCount = (signature: LuaSignature): number =>
  signature.keys.reduce((sum, spec) => sum + (typeof spec === 'string' ? 1 : spec.members.length), 0);

/** The KEYS array for `signature` from the keys by name (a group as an object by member). */
export function keyList(signature: LuaSignature, keys: Readonly<Record<string, unknown>>): string[] {
  const list: string[] = [];
  for (const spec of signature.keys) {
    if (typeof spec === 'string') {
      list.push(keys[spec] as string);
    } else {
      const group = keys[spec.group] as Record<string, string>;
      for (const member of spec.members) list.push(group[member]);
    }
  }
  return list;
}

function identifier(name: string): string {
  if (!IDENTIFIER.test(name)) throw new Error(`not a Lua identifier: ${JSON.stringify(name)}`);
  return name;
}

const quote = (text: string): string => `'${text.replace(/[\\']/g, '\\$&')}'`;

function lua(value: LuaConstant): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return quote(value);
  if (Array.isArray(value)) return `{ ${value.map(quote).join(', ')} }`;
  const entries = Object.entries(value as Record<string, boolean>);
  return `{ ${entries.map(([k, v]) => `${identifier(k)} = ${v}`).join(', ')} }`;
}
