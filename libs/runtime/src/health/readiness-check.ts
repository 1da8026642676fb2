/**
 * One dependency a process needs before it can take work (the ledger, NATS). A module that owns
 * such a dependency provides one under a token of its own; the app lists the tokens it relies on.
 * Structural, so libraries provide checks without depending on this one.
 */
export interface ReadinessCheck {
  readonly name: string;
  /** Resolves when the dependency answers; rejects with a message saying what is wrong. */
  check(): Promise<void>;
}
