import { type AuditActor, type AuditDetails, type AuditEventType, type AuditLog, type AuditSubject, NO_AUDIT, SYSTEM_ACTOR } from '../domain/audit.ts';
import type { Environment } from '../domain/model.ts';
import type { Store, TransactionStore } from '../domain/storage.ts';

/** What an admin change records about itself, possibly drawn from its result (a new key's kid). */
export interface AuditedChange<T> {
  type: AuditEventType;
  env: Environment;
  subject: AuditSubject | ((result: T) => AuditSubject);
  /** Details of the success event; none by default. */
  details?: (result: T) => AuditDetails;
}

/**
 * How the admin services record their changes, each with the actor the services were built for.
 * A change and its audit event (with its webhook outbox row) are one transaction: if the event
 * cannot be stored, the change is rolled back and the error reaches the caller, so nothing
 * changes unrecorded (and a secret created by a rolled-back change is never shown).
 */
export class AdminAudit {
  constructor(
    private readonly log: AuditLog = NO_AUDIT,
    readonly actor: AuditActor = SYSTEM_ACTOR,
    /** A refused operation changes nothing: when its failure event cannot be stored, this is told. */
    private readonly onError: (error: unknown, type: AuditEventType) => void = (error, type) =>
      process.emitWarning(`the audit event ${type} could not be stored: ${error instanceof Error ? error.message : String(error)}`),
  ) {}

  /**
   * Runs `work` in one transaction of `store` and records its success event in the same
   * transaction. `work` must write through the `tx` it is given only. When `work` refuses (an
   * `AdminError`: not found, conflict, invalid), the transaction is rolled back and the refusal
   * is recorded on its own, with the reason.
   */
  async change<T>(store: Pick<Store, 'transaction'>, change: AuditedChange<T>, work: (tx: TransactionStore) => Promise<T>): Promise<T> {
    const { type, env, subject, details = () => ({}) } = change;
    try {
      return await store.transaction(async (tx) => {
        const result = await work(tx);
        const about = typeof subject === 'function' ? subject(result) : subject;
        await this.log.record({ type, environment: envRef(env), actor: this.actor, subject: about, outcome: 'success', details: details(result) }, tx.audit);
        return result;
      });
    } catch (error) {
      // Matched by name: admin-service.ts imports this file, so importing AdminError here would close a circle.
      if (isAdminError(error))
        await this.refused(type, env, typeof subject === 'function' ? { kind: env ? 'environment' : 'server', id: env?.id ?? '' } : subject, error.kind);
      throw error;
    }
  }

  /** Records an operation refused before it changed anything, with the reason; a failure to store it is only reported. */
  async refused(type: AuditEventType, env: Environment | null, subject: AuditSubject, reason: string, details: AuditDetails = {}): Promise<void> {
    try {
      await this.log.record({ type, environment: envRef(env), actor: this.actor, subject, outcome: 'failure', details: { reason, ...details } });
    } catch (error) {
      this.onError(error, type);
    }
  }
}

const envRef = (env: Environment | null) => env && { id: env.id, name: env.name };

const isAdminError = (error: unknown): error is Error & { kind: string } => error instanceof Error && error.name === 'AdminError' && 'kind' in error;
