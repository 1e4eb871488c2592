/**
 * Waiting on events instead of sleeping: whoever observes something a test may wait for calls
 * `notify()`, and `until(cond)` re-checks its condition then. The real-time bound only turns a hang into
 * a failure; it never decides an outcome.
 */
export class Events {
  readonly #checks = new Set<() => void>();

  notify(): void {
    for (const check of [...this.#checks]) check();
  }

  /** Resolves once `cond()` holds (checked now and on every `notify()`). */
  until(cond: () => boolean, what: string, boundMs = 10_000): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const bound = setTimeout(() => {
        this.#checks.delete(check);
        reject(new Error(`gave up waiting for ${what}`));
      }, boundMs);
      const check = () => {
        if (!cond()) return;
        clearTimeout(bound);
        this.#checks.delete(check);
        resolve();
      };
      this.#checks.add(check);
    });
  }
}
