import { randomUUID } from 'node:crypto';
import type { Environment } from '../domain/model.ts';
import { ConflictError, type PageQuery } from '../domain/storage.ts';
import { issuerUrls } from '../oauth/issuer.ts';
import { generateSigningKey, ID_TOKEN_KEY_ALGORITHM } from '../oauth/signing-keys.ts';
import { AdminContext } from './admin-context.ts';
import { AdminError } from './admin-error.ts';
import { type EnvironmentChanges, type EnvironmentView, REFRESH_TOKEN_POLICIES } from './admin-views.ts';
import { SUBJECT_TYPES, sectorlessHosts } from './client-oidc.ts';
import { type Listed, listed } from './paging.ts';
import { type EnvironmentParChanges, givesParSettings, parSettingsOf, withParSettings } from './par-settings.ts';
import { validQuota } from './quota.ts';

const ENV_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** Environments: creation, listing, and their quota, OpenID Connect, DPoP and PAR settings. */
export class EnvironmentAdmin extends AdminContext {
  async createEnvironment(name: string): Promise<{ name: string; issuer: string; jwks_uri: string; kid: string }> {
    if (!ENV_NAME.test(name)) throw new AdminError('invalid_argument', 'environment names use 1-64 letters, digits, "-" or "_"');
    const now = this.clock.now();
    const env: Environment = { id: randomUUID(), name, createdAt: now, defaultQuota: null };
    // The environment's two lineages from the start: its access-token key and the RS256 key
    // that ID Tokens are signed with by default (OpenID Connect Core §15.1).
    const [key, idTokenKey] = await Promise.all([
      generateSigningKey(env.id, this.config.signingAlgorithm, this.requireKeySecret(), now),
      generateSigningKey(env.id, ID_TOKEN_KEY_ALGORITHM, this.requireKeySecret(), now),
    ]);
    const created = {
      type: 'environment.created',
      env,
      subject: { kind: 'environment', id: env.id },
      details: () => ({ name, kid: key.kid, id_token_kid: idTokenKey.kid }),
    } as const;
    try {
      await this.audit.change(this.store, created, (tx) => tx.environments.create(env, key, idTokenKey));
    } catch (error) {
      if (error instanceof ConflictError) throw new AdminError('conflict', `environment ${name} already exists`);
      throw error;
    }
    const urls = issuerUrls(this.config.publicUrl, env);
    return { name, issuer: urls.issuer, jwks_uri: urls.jwks, kid: key.kid };
  }

  /** One page of environments by name (the admin API's list). */
  async pageEnvironments(page: PageQuery<string>): Promise<Listed<EnvironmentView, string>> {
    return listed(
      await this.store.adminLists.environments(page),
      (env) => this.environmentView(env),
      (env) => env.name,
    );
  }

  async listEnvironments(): Promise<EnvironmentView[]> {
    const envs = await this.store.environments.list();
    return envs.map((env) => this.environmentView(env));
  }

  /**
   * Sets the quota of every client of the environment that sets none of its own (requests per
   * quota window), or with null removes it. Running nodes see it within GATEHOUSE_CACHE_TTL.
   */
  async setEnvironmentQuota(envName: string, quota: number | null, expect?: (current: EnvironmentView) => void): Promise<EnvironmentView> {
    return this.updateEnvironment(envName, { defaultQuota: quota }, expect);
  }

  /**
   * Changes an environment's default quota and OpenID Connect settings; absent fields keep their
   * value. Each write is conditional on the value read, so a change made in between is never
   * overwritten (`conflict`). Running nodes see it within GATEHOUSE_CACHE_TTL.
   */
  async updateEnvironment(envName: string, changes: EnvironmentChanges, expect?: (current: EnvironmentView) => void): Promise<EnvironmentView> {
    if (changes.defaultQuota !== undefined) validQuota(changes.defaultQuota);
    let env = await this.environment(envName);
    expect?.(this.environmentView(env));
    if (givesParSettings(changes)) env = await this.writeParSettings(env, changes, expect);
    if (changes.dpopNonceRequired !== undefined && changes.dpopNonceRequired !== (env.dpopNonceRequired === true)) {
      env = await this.writeDpopNonceRequired(env, changes.dpopNonceRequired);
    }
    const oidcGiven = changes.subjectType !== undefined || changes.refreshTokenPolicy !== undefined;
    if (!oidcGiven) return changes.defaultQuota === undefined ? this.environmentView(env) : this.writeQuota(env, changes.defaultQuota, expect);
    if (changes.subjectType !== undefined && !SUBJECT_TYPES.includes(changes.subjectType)) {
      throw new AdminError('invalid_argument', `subject_type must be one of ${SUBJECT_TYPES.join(', ')}`);
    }
    if (changes.refreshTokenPolicy !== undefined && !REFRESH_TOKEN_POLICIES.includes(changes.refreshTokenPolicy)) {
      throw new AdminError('invalid_argument', `refresh_token_policy must be one of ${REFRESH_TOKEN_POLICIES.join(', ')}`);
    }
    const quota = changes.defaultQuota === undefined ? env.defaultQuota : validQuota(changes.defaultQuota);
    if (changes.subjectType === 'pairwise' && env.subjectType !== 'pairwise') {
      // Core §8.1: each client that would become pairwise needs one sector.
      const stuck = (await this.store.clients.list(env.id)).filter((c) => sectorlessHosts(c, 'pairwise'));
      if (stuck.length > 0) {
        throw new AdminError(
          'invalid_argument',
          `clients ${stuck.map((c) => c.clientId).join(', ')} have redirect URIs on several hosts and no sector_identifier_uri: give them one (or subject_type public) before making pairwise the default`,
        );
      }
    }
    const read = { subjectType: env.subjectType ?? 'public', refreshTokenPolicy: env.refreshTokenPolicy ?? 'client' } as const;
    const settings = { subjectType: changes.subjectType ?? read.subjectType, refreshTokenPolicy: changes.refreshTokenPolicy ?? read.refreshTokenPolicy };
    const changed = {
      type: 'environment.oidc_settings_changed',
      env,
      subject: { kind: 'environment', id: env.id },
      details: () => ({
        subject_type: settings.subjectType,
        refresh_token_policy: settings.refreshTokenPolicy,
        ...(changes.defaultQuota === undefined ? {} : { default_quota: quota }),
      }),
    } as const;
    await this.audit.change(this.store, changed, async (tx) => {
      // Both conditional on the values read: of two writers of one version, only one succeeds.
      const written =
        (await tx.environments.setOidcSettings(env.name, settings, read)) &&
        (changes.defaultQuota === undefined || (await tx.environments.setDefaultQuota(env.name, quota, env.defaultQuota)));
      if (written) return;
      const fresh = await tx.environments.findByName(env.name);
      if (!fresh) throw new AdminError('not_found', `no environment named ${envName}`);
      expect?.(this.environmentView(fresh));
      throw new AdminError('conflict', `environment ${envName} changed while being updated: read it again`);
    });
    const next: Environment = { ...env, defaultQuota: quota, subjectType: settings.subjectType, refreshTokenPolicy: settings.refreshTokenPolicy };
    return this.environmentView(next);
  }

  /**
   * RFC 9449 §8: whether DPoP proofs at the environment's token endpoint must carry a server
   * nonce. Running nodes see it within GATEHOUSE_CACHE_TTL.
   */
  async setDpopNonceRequired(envName: string, required: boolean): Promise<EnvironmentView> {
    return this.environmentView(await this.writeDpopNonceRequired(await this.environment(envName), required));
  }

  /** The nonce switch written and audited; the environment as it is now. */
  private async writeDpopNonceRequired(env: Environment, required: boolean): Promise<Environment> {
    const changed = {
      type: 'environment.dpop_settings_changed',
      env,
      subject: { kind: 'environment', id: env.id },
      details: () => ({ dpop_nonce_required: required }),
    } as const;
    await this.audit.change(this.store, changed, async (tx) => {
      if (!(await tx.environments.setDpopNonceRequired(env.name, required))) throw new AdminError('not_found', `no environment named ${env.name}`);
    });
    const next: Environment = { ...env };
    if (required) next.dpopNonceRequired = true;
    else delete next.dpopNonceRequired;
    return next;
  }

  /** RFC 9126 §5 and the security profile: one conditional write on the values read, audited. */
  private async writeParSettings(env: Environment, changes: EnvironmentParChanges, expect?: (current: EnvironmentView) => void): Promise<Environment> {
    const { read, settings } = parSettingsOf(env, changes);
    const changed = {
      type: 'environment.security_settings_changed',
      env,
      subject: { kind: 'environment', id: env.id },
      details: () => ({ require_pushed_authorization_requests: settings.requirePushedAuthorizationRequests, security_profile: settings.securityProfile }),
    } as const;
    await this.audit.change(this.store, changed, async (tx) => {
      if (await tx.environments.setPushedRequestSettings(env.name, settings, read)) return;
      const fresh = await tx.environments.findByName(env.name);
      if (!fresh) throw new AdminError('not_found', `no environment named ${env.name}`);
      expect?.(this.environmentView(fresh));
      throw new AdminError('conflict', `environment ${env.name} changed while being updated: read it again`);
    });
    return withParSettings(env, settings);
  }

  private async writeQuota(env: Environment, quota: number | null, expect?: (current: EnvironmentView) => void): Promise<EnvironmentView> {
    const envName = env.name;
    const value = validQuota(quota);
    const changed = {
      type: 'environment.quota_changed',
      env,
      subject: { kind: 'environment', id: env.id },
      details: () => ({ default_quota: value }),
    } as const;
    await this.audit.change(this.store, changed, async (tx) => {
      // Conditional on the quota as read, the only part of its view that changes: the write applies to the version checked.
      if (await tx.environments.setDefaultQuota(env.name, value, env.defaultQuota)) return;
      const fresh = await tx.environments.findByName(env.name);
      if (!fresh) throw new AdminError('not_found', `no environment named ${envName}`);
      expect?.(this.environmentView(fresh));
      throw new AdminError('conflict', `environment ${envName} changed while being updated: read it again`);
    });
    return this.environmentView({ ...env, defaultQuota: value });
  }

  async getEnvironment(name: string): Promise<EnvironmentView> {
    return this.environmentView(await this.environment(name));
  }
}
