import type { ClientRegistrationView } from '../admin/registration-policy.ts';

/** RFC 7591: a badge after a client's type when it registered itself; nothing for an operator's client. */
export const registrationBadge = (client: ClientRegistrationView): string =>
  client.registration === 'dynamic' ? ' <span class="badge" title="registered itself (RFC 7591)">dynamic</span>' : '';
