/** Request parameters after parsing: each name once, each value a string. */
export type Params = Record<string, string>;

/**
 * A parameter a route lets repeat (RFC 8707 `resource`) reaches the core as one value with its
 * occurrences joined by NUL: parsers refuse NUL in any value, so the join cannot be forged.
 */
export const REPEATED_VALUES_SEPARATOR = '\u0000';

/** Every value of a parameter a route lets repeat, in the order sent; [] when absent. */
export function repeatedValues(params: Readonly<Params>, name: string): string[] {
  const value = params[name];
  return value === undefined ? [] : value.split(REPEATED_VALUES_SEPARATOR);
}
