import { randomUUID } from 'node:crypto';
import { hashSecret, randomToken } from '../crypto/secrets.ts';
import { type Environment, MAX_SECRET_OVERLAP_SECONDS } from '../domain/model.ts';
import type { PageQuery, TransactionStore } from '../domain/storage.ts';
import { AdminContext } from './admin-context.ts';
import { AdminError } from './admin-error.ts';
import { type ClientSecretView, iso, secretView } from './admin-views.ts';
import { type Listed, listed } from './paging.ts';

/** A client's secrets: rotation with an overlap, listing by id, and revocation one by one. */
export class ClientSecretAdmin extends AdminContext {
  /** Issues a new secret; the old ones keep working until `overlapSeconds` from now (0 to 90 days). */
  async rotateClientSecret(envName: string, clientId: string, overlapSeconds = this.config.secretRotationOverlap) {
    if (!Number.isInteger(overlapSeconds) || overlapSeconds < 0 || overlapSeconds > MAX_SECRET_OVERLAP_SECONDS) {
      throw new AdminError('invalid_argument', `the overlap must be 0 to ${MAX_SECRET_OVERLAP_SECONDS} seconds (90 days)`);
    }
    const env = await this.environment(envName);
    const rotated = {
      type: 'client.secret_rotated',
      env,
      subject: { kind: 'client', id: clientId },
      details: (r: { previous_secrets_expire_at: string }) => ({ previous_secrets_expire_at: r.previous_secrets_expire_at }),
    } as const;
    const result = await this.audit.change(this.store, rotated, (tx) => this.issueClientSecret(tx, env, clientId, overlapSeconds));
    this.caches?.clients.invalidate(env.id, clientId);
    return result;
  }

  private async issueClientSecret(tx: TransactionStore, env: Environment, clientId: string, overlapSeconds: number) {
    const client = await tx.clients.find(env.id, clientId);
    if (!client) throw new AdminError('not_found', `no client ${clientId} in environment ${env.name}`);
    if (client.kind === 'public') throw new AdminError('invalid_argument', 'a public client has no secret to rotate');
    if (!Number.isInteger(overlapSeconds) || overlapSeconds < 0) throw new AdminError('invalid_argument', 'overlap must be a whole number of seconds');
    const now = this.clock.now();
    const secret = randomToken(32);
    const overlapUntil = now + overlapSeconds * 1000;
    await tx.clients.rotateSecret(env.id, clientId, { id: randomUUID(), secretHash: hashSecret(secret), createdAt: now, expiresAt: null }, overlapUntil);
    return { client_id: clientId, client_secret: secret, previous_secrets_expire_at: iso(overlapUntil) };
  }

  /** One page of the client's secrets that still authenticate, by id (never their value or hash). */
  async pageClientSecrets(envName: string, clientId: string, page: PageQuery<string>): Promise<Listed<ClientSecretView, string>> {
    const env = await this.environment(envName);
    await this.client(env, clientId);
    return listed(await this.store.adminLists.clientSecrets(env.id, clientId, this.clock.now(), page), secretView, (s) => s.id);
  }

  /** The client's secrets that still authenticate, by id (never their value or hash). */
  async listClientSecrets(envName: string, clientId: string): Promise<ClientSecretView[]> {
    const env = await this.environment(envName);
    await this.client(env, clientId);
    const secrets = await this.store.clients.activeSecrets(env.id, clientId, this.clock.now());
    return secrets.map(secretView);
  }

  /** Ends one secret now, for instance the old one once every caller uses the rotated one, or a leaked one. */
  async revokeClientSecret(envName: string, clientId: string, secretId: string): Promise<ClientSecretView[]> {
    const env = await this.environment(envName);
    await this.client(env, clientId);
    const revoked = { type: 'client.secret_revoked', env, subject: { kind: 'client', id: clientId }, details: () => ({ secret_id: secretId }) } as const;
    await this.audit.change(this.store, revoked, async (tx) => {
      if (!(await tx.clients.expireSecret(env.id, clientId, secretId, this.clock.now()))) {
        throw new AdminError('not_found', `client ${clientId} has no active secret ${secretId}`);
      }
    });
    this.caches?.clients.invalidate(env.id, clientId);
    return this.listClientSecrets(envName, clientId);
  }
}
