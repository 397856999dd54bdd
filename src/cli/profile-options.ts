import { type Command, Option } from 'commander';
import { ADDRESS_FIELDS, type ProfileChanges } from '../admin/user-profile.ts';
import type { PostalAddress } from '../domain/model.ts';

/** Text flags of the OpenID Connect Core §5.1 attributes, by option key; an empty value clears the attribute. */
const TEXT_FLAGS = {
  email: ['--email <address>', 'email address'],
  name: ['--name <text>', 'full name'],
  givenName: ['--given-name <text>', 'given (first) name'],
  familyName: ['--family-name <text>', 'family (last) name'],
  preferredUsername: ['--preferred-username <text>', 'the name apps show (default: the username)'],
  picture: ['--picture <url>', 'profile picture, an https URL'],
  locale: ['--locale <tag>', 'BCP 47 language tag, e.g. en-US'],
  zoneinfo: ['--zoneinfo <zone>', 'IANA time zone, e.g. Europe/Paris'],
  phoneNumber: ['--phone-number <e164>', 'phone number in E.164 form, e.g. +14155550123'],
} as const;

/** Address member flags (`--address-street-address`), by member name. */
const addressFlag = (member: string) => `address${member.replace(/(^|_)([a-z])/g, (_m, _s, c: string) => c.toUpperCase())}`;

/** Adds the profile attribute flags to `user create` or `user update`. */
export function addProfileOptions(command: Command): Command {
  for (const [flags, description] of Object.values(TEXT_FLAGS)) command.option(flags, `${description} ("" clears it)`);
  command
    .addOption(new Option('--email-verified', 'the email address is verified'))
    .addOption(new Option('--no-email-verified', 'the email address is not verified'))
    .addOption(new Option('--phone-number-verified', 'the phone number is verified'))
    .addOption(new Option('--no-phone-number-verified', 'the phone number is not verified'));
  for (const member of ADDRESS_FIELDS) command.option(`--address-${member.replace(/_/g, '-')} <text>`, `address: ${member} ("" clears it)`);
  command.option('--clear-address', 'remove the whole address');
  return command;
}

/** The profile changes the flags ask for; the address members given are merged into `currentAddress`. */
export function profileChanges(options: Record<string, unknown>, currentAddress: PostalAddress | null = null): ProfileChanges {
  const changes: Record<string, unknown> = {};
  for (const key of Object.keys(TEXT_FLAGS)) if (typeof options[key] === 'string') changes[key] = options[key];
  if (typeof options.emailVerified === 'boolean') changes.emailVerified = options.emailVerified;
  if (typeof options.phoneNumberVerified === 'boolean') changes.phoneNumberVerified = options.phoneNumberVerified;
  const parts = ADDRESS_FIELDS.filter((member) => typeof options[addressFlag(member)] === 'string');
  if (options.clearAddress === true) {
    if (parts.length > 0) throw new Error('--clear-address cannot be combined with --address-… flags');
    changes.address = null;
  } else if (parts.length > 0) {
    const address: Record<string, string> = { ...(currentAddress ?? {}) };
    for (const member of parts) address[member] = options[addressFlag(member)] as string;
    changes.address = address;
  }
  return changes as ProfileChanges;
}

/** Whether any address flag was given (an update then reads the current address to merge into). */
export const givesAddressParts = (options: Record<string, unknown>): boolean => ADDRESS_FIELDS.some((m) => typeof options[addressFlag(m)] === 'string');
