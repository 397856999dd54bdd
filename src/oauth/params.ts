/** Request parameters after parsing: each name once, each value a string. */
export type Params = Record<string, string>;
