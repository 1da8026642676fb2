import { parseExposition, type Sample } from '@dqkd/metrics';

/** One app's /metrics, parsed. */
export class Scrape {
  private constructor(
    /** Family name → type. */
    readonly types: ReadonlyMap<string, string>,
    readonly samples: readonly Sample[],
  ) {}

  static parse(text: string): Scrape {
    const { types, samples } = parseExposition(text);
    return new Scrape(types, samples);
  }

  has(name: string): boolean {
    return this.types.has(name);
  }

  /** The samples of `name` whose labels include `labels`. */
  select(name: string, labels: Readonly<Record<string, string>> = {}): Sample[] {
    return this.samples.filter(
      (sample) =>
        sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
    );
  }

  /** The sum of the selected samples (0 when there are none). */
  sum(name: string, labels: Readonly<Record<string, string>> = {}): number {
    return this.select(name, labels).reduce((total, sample) => total + sample.value, 0);
  }
}

export async function scrape(url: string): Promise<{ text: string; scrape: Scrape }> {
  const response = await fetch(url);
  if (response.status !== 200) throw new Error(`${url} answered ${response.status}`);
  const text = await response.text();
  return { text, scrape: Scrape.parse(text) };
}
