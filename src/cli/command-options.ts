import { type Command, InvalidArgumentError, Option } from 'commander';
import { MAX_QUOTA } from '../admin/quota.ts';

/** Options and argument parsers the environment and client commands share. */
export const json = new Option('--json', 'print JSON');
export const envOption = () => new Option('--env <name>', 'environment name').makeOptionMandatory();
export const collect = (value: string, previous: string[] = []) => [...previous, value];
export const scopeList = (value: string) => value.split(/\s+/).filter(Boolean);
export const positiveInt = (value: string) => {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('must be a whole number of seconds');
  return Number(value);
};

export const quotaValue = (value: string) => {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > MAX_QUOTA) {
    throw new InvalidArgumentError(`a quota is a whole number of requests per window, 1..${MAX_QUOTA}`);
  }
  return Number(value);
};
export const quotaOption = (description: string) => new Option('--quota <n>', description).argParser(quotaValue).conflicts('unlimited');
export const unlimitedOption = (description: string) => new Option('--unlimited', description).conflicts('quota');

/** The quota `set-quota` asks for: a number, or null for `--unlimited`; exactly one of the two. */
export function chosenQuota(options: { quota?: number; unlimited?: boolean }, command: Command): number | null {
  if (options.unlimited) return null;
  if (options.quota === undefined) command.error('error: give either --quota <n> or --unlimited');
  return options.quota;
}
