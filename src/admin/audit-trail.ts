import { type AuditActor, type AuditDetails, type AuditEventType, type AuditLog, type AuditSubject, NO_AUDIT, SYSTEM_ACTOR } from '../domain/audit.ts';
import type { Environment } from '../domain/model.ts';

/**
 * How the admin services record their changes: each with the actor the services were built for.
 * A change that the audit log then fails to store is not undone (a new secret, shown once, must
 * still reach the operator): the failure is reported through `onError`.
 */
export class AdminAudit {
  constructor(
    private readonly log: AuditLog = NO_AUDIT,
    readonly actor: AuditActor = SYSTEM_ACTOR,
    private readonly onError: (error: unknown, type: AuditEventType) => void = (error, type) =>
      process.emitWarning(`the audit event ${type} could not be stored: ${error instanceof Error ? error.message : String(error)}`),
  ) {}

  async record(type: AuditEventType, env: Environment | null, subject: AuditSubject, details: AuditDetails = {}, outcome: 'success' | 'failure' = 'success') {
    try {
      await this.log.record({ type, environment: env && { id: env.id, name: env.name }, actor: this.actor, subject, outcome, details });
    } catch (error) {
      this.onError(error, type);
    }
  }

  /**
   * Runs `change` and records it: success with the details drawn from its result, or failure
   * when it is refused (an `AdminError`: not found, conflict, invalid), with the reason.
   */
  async change<T>(type: AuditEventType, env: Environment, subject: AuditSubject, change: () => Promise<T>, details: (result: T) => AuditDetails = () => ({})) {
    let result: T;
    try {
      result = await change();
    } catch (error) {
      // Matched by name: admin-service.ts imports this file, so importing AdminError here would close a circle.
      if (isAdminError(error)) await this.record(type, env, subject, { reason: error.kind }, 'failure');
      throw error;
    }
    await this.record(type, env, subject, details(result));
    return result;
  }
}

const isAdminError = (error: unknown): error is Error & { kind: string } => error instanceof Error && error.name === 'AdminError' && 'kind' in error;
