import { type Compilable, CompiledQuery } from 'kysely';

/**
 * A query built and compiled once, for a hot path: building a Kysely query costs about as much as
 * running a simple one on SQLite. Build it with `placeholder(name)` where a call's values go; each
 * call binds its values to those positions, whatever order the dialect put them in.
 */
export function compiledOnce<Name extends string>(query: Compilable): (values: Readonly<Record<Name, unknown>>) => CompiledQuery {
  const { sql, parameters } = query.compile();
  const names = parameters.map((p) => {
    if (typeof p !== 'string' || !p.startsWith(PREFIX)) throw new Error('a query compiled once takes its values from placeholders only');
    return p.slice(PREFIX.length) as Name;
  });
  return (values) =>
    CompiledQuery.raw(
      sql,
      names.map((name) => values[name]),
    );
}

const PREFIX = '\u0000gatehouse-placeholder:';

/** Where a call's value named `name` goes in a query for `compiledOnce`. */
export const placeholder = (name: string): string => `${PREFIX}${name}`;
