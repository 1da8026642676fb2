/** One sample line of the text format; a histogram's are `<name>_bucket` (with `le`), `_sum` and `_count`. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Exposition {
  /** Family name → type, from the `# TYPE` lines. */
  readonly types: ReadonlyMap<string, string>;
  readonly samples: readonly Sample[];
}

/** Thrown for a line that is not the text exposition format (version 0.0.4). */
export class ExpositionError extends Error {
  override readonly name = 'ExpositionError';
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})?\\s+(\\S+)(?:\\s+-?\\d+)?$`);
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(?:,|$)/y;
const TYPE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);

/**
 * Parses Prometheus' text exposition format as /metrics serves it: HELP and TYPE comments, then samples with
 * escaped label values. Strict, so a malformed line fails the test that scrapes it; `promtool check metrics`
 * checks the conventions on top where it is installed.
 */
export function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const type = TYPE.exec(line);
      if (type) types.set(type[1]!, type[2]!);
      return;
    }
    const match = SAMPLE.exec(line);
    if (!match) throw new ExpositionError(`line ${index + 1} is not a sample: ${line}`);
    const value = parseValue(match[3]!);
    if (Number.isNaN(value) && match[3] !== 'NaN') {
      throw new ExpositionError(`line ${index + 1} has no number: ${line}`);
    }
    samples.push({ name: match[1]!, labels: parseLabels(match[2] ?? '', index + 1), value });
  });
  return { types, samples };
}

function parseValue(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}

function parseLabels(text: string, line: number): Record<string, string> {
  const labels: Record<string, string> = {};
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < text.length) {
    const start = LABEL.lastIndex;
    const match = LABEL.exec(text);
    if (!match) throw new ExpositionError(`line ${line}: bad labels at "${text.slice(start)}"`);
    labels[match[1]!] = match[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  }
  return labels;
}
