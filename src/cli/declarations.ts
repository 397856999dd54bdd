/** `plan FILE` and `apply FILE` once they run: the declaration file read, then planned or applied. */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { AdminError } from '../admin/admin-error.ts';
import { type Declaration, parseDeclaration } from '../admin/declarative.ts';
import { type ApplyResult, applyDeclaration, type PlannedChange, planDeclaration } from '../admin/declarative-plan.ts';
import { localDeclarativeTarget } from '../admin/declarative-target.ts';
import type { AdminContext } from './admin-context.ts';
import { registrationTarget } from './registration-commands.ts';

/** Reads a declaration file (YAML, of which JSON is a subset); `-` reads stdin. */
export function readDeclaration(path: string): Declaration {
  let text: string;
  try {
    text = readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (error) {
    throw new AdminError('invalid_argument', `cannot read ${path}: ${(error as Error).message}`);
  }
  let document: unknown;
  try {
    document = parseYaml(text, { uniqueKeys: true, maxAliasCount: 100 });
  } catch (error) {
    throw new AdminError('invalid_argument', `${path} is not valid YAML or JSON: ${(error as Error).message.split('\n')[0]}`);
  }
  return parseDeclaration(document);
}

const targetOf = (ctx: AdminContext) => localDeclarativeTarget({ ...ctx, registrationPolicies: registrationTarget(ctx) });

/** What applying FILE would change, through the context's services (local, or `--server`'s admin API). */
export const planFile = (ctx: AdminContext, file: string): Promise<PlannedChange[]> => planDeclaration(targetOf(ctx), readDeclaration(file));

/** Creates and updates what FILE declares. */
export const applyFile = (ctx: AdminContext, file: string): Promise<ApplyResult> => applyDeclaration(targetOf(ctx), readDeclaration(file));
