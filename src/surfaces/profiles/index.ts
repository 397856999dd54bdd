import type { Profile } from '../profile.ts';
import { abbeyCrossProfile } from './abbeycross.ts';
import { frontierProfile } from './frontier.ts';
import { ignisignProfile } from './ignisign.ts';
import { rightSignatureProfile } from './rightsignature.ts';
import { standardProfile } from './standard.ts';

/** The built-in profiles by name. A new product is one profile file and one line here. */
export const BUILT_IN_PROFILES: ReadonlyMap<string, Profile> = new Map(
  [standardProfile, ignisignProfile, frontierProfile, rightSignatureProfile, abbeyCrossProfile].map((p) => [p.name, p]),
);
