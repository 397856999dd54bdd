import { randomInt } from 'node:crypto';

/**
 * RFC 8628 §6.1: the 20 consonants, upper case, with no vowels (no words can be spelled) and
 * none that read alike. A user code is 8 of them: 20^8 ≈ 2.56e10 codes (about 34.6 bits).
 */
export const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
const USER_CODE_LENGTH = 8;
const NORMALIZED = new RegExp(`^[${USER_CODE_ALPHABET}]{${USER_CODE_LENGTH}}$`);

/** A new user code, drawn uniformly with the platform's CSPRNG, as its 8 bare characters. */
export function generateUserCode(): string {
  let code = '';
  for (let i = 0; i < USER_CODE_LENGTH; i++) code += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)];
  return code;
}

/** RFC 8628 §6.1: shown as XXXX-XXXX, the dash only for the eye. */
export function formatUserCode(code: string): string {
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}

/**
 * A user code as typed: case, dashes and spaces do not matter (RFC 8628 §6.1). Undefined when
 * what remains cannot be a user code (wrong length or a character outside the alphabet).
 */
export function normalizeUserCode(input: string): string | undefined {
  const code = input.replace(/[\s-]/g, '').toUpperCase();
  return NORMALIZED.test(code) ? code : undefined;
}
