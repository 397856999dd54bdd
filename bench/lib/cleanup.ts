/**
 * Undo steps run last-in first-out, once: at the end of a run, on failure, and on SIGINT or
 * SIGTERM (then the process exits 130 or 143). A failing step is reported and the rest still run.
 */
export class Cleanup {
  private readonly steps: { what: string; step: () => unknown }[] = [];
  private running: Promise<void> | undefined;

  /** Adds a step; `what` names it if it fails. */
  add(what: string, step: () => unknown): void {
    this.steps.push({ what, step });
  }

  run(): Promise<void> {
    this.running ??= (async () => {
      for (let next = this.steps.pop(); next !== undefined; next = this.steps.pop()) {
        try {
          await next.step();
        } catch (error) {
          process.stderr.write(`cleanup: ${next.what} failed: ${error instanceof Error ? error.message : String(error)}\n`);
        }
      }
    })();
    return this.running;
  }

  /** Runs the steps when the process is interrupted; returns a function that stops listening. */
  onInterrupt(): () => void {
    const handlers = (['SIGINT', 'SIGTERM'] as const).map((signal) => {
      const handler = () => {
        process.stderr.write(`\n${signal}: cleaning up\n`);
        void this.run().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
      };
      process.once(signal, handler);
      return () => process.off(signal, handler);
    });
    return () => {
      for (const off of handlers) off();
    };
  }
}
