/** One problem found in a configuration source (a network file, or the process environment). */
export interface ConfigIssue {
  /** The file as the operator named it, or `environment`. */
  readonly source: string;
  /** Field path inside the source (`saes[1].kme`) or variable name (`KME_ID`); empty for the whole source. */
  readonly path: string;
  readonly message: string;
  readonly line?: number;
  readonly column?: number;
}

export const ENVIRONMENT = 'environment';

export function formatIssue(issue: ConfigIssue): string {
  const where = issue.path ? `${issue.path}: ` : '';
  const position =
    issue.line === undefined
      ? ''
      : issue.column === undefined
        ? ` (line ${issue.line})`
        : ` (line ${issue.line}, column ${issue.column})`;
  return `${issue.source}: ${where}${issue.message}${position}`;
}

/** A ConfigError of one environment variable, e.g. a file it names that holds no usable certificate. */
export function environmentError(variable: string, message: string): ConfigError {
  return new ConfigError([{ source: ENVIRONMENT, path: variable, message }]);
}

/**
 * Every configuration problem found at start-up, collected so the operator can fix them all in one go;
 * the message holds one issue per line.
 */
export class ConfigError extends Error {
  override readonly name: string = 'ConfigError';

  constructor(readonly issues: readonly ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
  }
}
