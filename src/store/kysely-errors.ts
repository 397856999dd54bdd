/** Whether `error` is the unique-constraint violation of `dialect`: a duplicate name or id. */
export function isUniqueViolation(error: unknown, dialect: 'sqlite' | 'postgres'): boolean {
  const e = error as { code?: string };
  return dialect === 'postgres' ? e.code === '23505' : e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || e.code === 'SQLITE_CONSTRAINT_UNIQUE';
}
