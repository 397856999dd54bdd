import { type Command, Option } from 'commander';
import type { PlannedChange } from '../admin/declarative-plan.ts';
import { withAdmin } from './context.ts';

const SIGN: Record<PlannedChange['action'], string> = { create: '+', update: '~', unchanged: '=' };
const show = (value: unknown) => JSON.stringify(value);

/** One line per change (unchanged objects only with `verbose`), each changed field below it, then a count. */
export function formatPlan(changes: PlannedChange[], verbose = false): string[] {
  const lines: string[] = [];
  for (const change of changes) {
    if (change.action === 'unchanged' && !verbose) continue;
    const id = change.id && change.kind === 'client' ? ` (${change.id})` : '';
    const where = change.kind === 'environment' ? change.name : `${change.environment}/${change.name}`;
    lines.push(`${SIGN[change.action]} ${change.kind.replace('_', ' ')} ${where}${id}`);
    for (const field of change.changes) lines.push(`    ${field.field}: ${show(field.from)} → ${show(field.to)}`);
  }
  const count = (action: PlannedChange['action']) => changes.filter((c) => c.action === action).length;
  lines.push(`Plan: ${count('create')} to create, ${count('update')} to update, ${count('unchanged')} unchanged.`);
  return lines;
}

/** `plan FILE` and `apply FILE`: configuration as code. */
export function registerApplyCommands(program: Command): void {
  program
    .command('plan <file>')
    .description('show what `apply FILE` would change (YAML or JSON; - reads stdin); changes nothing')
    .addOption(new Option('--json', 'print the changes as JSON'))
    .addOption(new Option('--verbose', 'list unchanged objects too'))
    .addOption(new Option('--exit-code', 'exit 2 when there are changes to apply, 0 when there are none'))
    .action(
      withAdmin(async (ctx, file: string, options: { json?: boolean; verbose?: boolean; exitCode?: boolean }) => {
        const changes = await (await import('./declarations.ts')).planFile(ctx, file);
        if (options.json) console.log(JSON.stringify(changes));
        else for (const line of formatPlan(changes, options.verbose)) console.log(line);
        if (options.exitCode && changes.some((c) => c.action !== 'unchanged')) process.exitCode = 2;
      }),
    );
  program
    .command('apply <file>')
    .description('create and update what FILE declares (YAML or JSON; - reads stdin); prints new client secrets once')
    .addOption(new Option('--json', 'print the changes and new secrets as JSON'))
    .action(
      withAdmin(async (ctx, file: string, options: { json?: boolean }) => {
        const result = await (await import('./declarations.ts')).applyFile(ctx, file);
        if (options.json) {
          console.log(JSON.stringify(result));
          return;
        }
        for (const line of formatPlan(result.changes)) console.log(line.replace(/^Plan:/, 'Applied:'));
        for (const s of result.secrets) {
          console.log(`client ${s.environment}/${s.name}: client_id ${s.client_id}  client_secret ${s.client_secret}  (shown only now)`);
        }
      }),
    );
}
