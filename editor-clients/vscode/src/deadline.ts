/** Races work against a deadline so that a save is never held up longer than allowed (no vscode import). */

/**
 * VS Code gives each onWillSaveTextDocument listener 1500 ms in all (extension host
 * ExtHostDocumentSaveParticipant, thresholds `{timeout: 1500, errors: 3}`); a listener that runs
 * over more than three times is ignored from then on. Staying under it keeps fix-all on save alive.
 */
export const SAVE_PARTICIPANT_LIMIT_MS = 1250;

/** Milliseconds fix-all on save may wait: `automaticTimeout` seconds, capped by what VS Code allows. */
export function saveBudgetMs(automaticTimeoutSeconds: number): number {
  if (!Number.isFinite(automaticTimeoutSeconds) || automaticTimeoutSeconds <= 0) {
    return 0;
  }
  return Math.min(Math.round(automaticTimeoutSeconds * 1000), SAVE_PARTICIPANT_LIMIT_MS);
}

/**
 * Resolves to the work's value if it settles within `ms`, else to `fallback` (calling `onTimeout`
 * first so the caller can cancel the work). A rejected work resolves to `fallback` too: a failed
 * fix must not fail the save.
 */
export function withDeadline<T>(work: Promise<T>, ms: number, fallback: T, onTimeout?: () => void): Promise<T> {
  return new Promise<T>((resolve) => {
    let settled = false;
    const timer = setTimeout(() => {
      if (!settled) {
        settled = true;
        onTimeout?.();
        resolve(fallback);
      }
    }, ms);
    work.then(
      (value) => {
        if (!settled) {
          settled = true;
          clearTimeout(timer);
          resolve(value);
        }
      },
      () => {
        if (!settled) {
          settled = true;
          clearTimeout(timer);
          resolve(fallback);
        }
      },
    );
  });
}
