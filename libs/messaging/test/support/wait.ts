/** Polls until the condition holds, failing after timeoutMs so no test hangs. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A promise a test releases by hand, e.g. a handler that must stay busy. */
export function gate(): { wait: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

export const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
export const text = (data: Uint8Array): string => new TextDecoder().decode(data);

/**
 * A deletion a test makes as an operator would, tried again while nats-server 2.9 answers that the directory
 * of what it deletes is not empty: its file store does not retry removing a directory a flush is still writing
 * to (nats-server#7886, fixed in later servers), which happens under load.
 */
export async function deleting<T>(deletion: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await deletion();
    } catch (error) {
      if (attempt >= 5 || !/directory not empty/.test(String(error))) throw error;
      await sleep(200);
    }
  }
}
