/**
 * Runs a ledger CLI's `main` and sets the exit code it answers; a failure is printed as one line, `what`
 * failed: message, with exit code 1.
 */
export function runCli(what: string, main: () => Promise<number>): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`${what} failed: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
