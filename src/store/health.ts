import type { StorageHealth } from '../domain/storage.ts';

/**
 * The mutable side of `StorageHealth`, owned by the store: the database drivers report each
 * failure that means "unreachable" and each success. Listeners hear only the transitions, so a
 * log line is written once per outage, not once per request.
 */
export class StorageHealthState implements StorageHealth {
  private down: string | undefined;
  private readonly listeners: ((health: StorageHealth) => void)[] = [];

  get available(): boolean {
    return this.down === undefined;
  }

  get reason(): string | undefined {
    return this.down;
  }

  markDown(reason: string): void {
    const changed = this.down === undefined;
    this.down = reason;
    if (changed) this.notify();
  }

  markUp(): void {
    if (this.down === undefined) return;
    this.down = undefined;
    this.notify();
  }

  /** Calls `listener` on every change between available and unavailable; returns what stops it. */
  onChange(listener: (health: StorageHealth) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const index = this.listeners.indexOf(listener);
      if (index >= 0) this.listeners.splice(index, 1);
    };
  }

  private notify(): void {
    for (const listener of this.listeners) listener(this);
  }
}
