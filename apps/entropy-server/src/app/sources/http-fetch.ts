import { RandomSourceFailed } from './random-source';

/** One QRNG request per this many milliseconds at most; a pool fill then fails rather than hangs. */
export const QRNG_TIMEOUT_MS = 10_000;

/** GETs JSON from a QRNG service; failures name the source and status, never the URL's query or a token. */
export async function getJson(source: string, url: URL, headers: Record<string, string>): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, { headers, signal: AbortSignal.timeout(QRNG_TIMEOUT_MS), redirect: 'error' });
  } catch (error) {
    throw new RandomSourceFailed(source, `no answer from ${url.origin}`, { cause: error });
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new RandomSourceFailed(source, `${url.origin} answered HTTP ${response.status}`);
  }
  try {
    return await response.json();
  } catch (error) {
    throw new RandomSourceFailed(source, `${url.origin} answered something other than JSON`, {
      cause: error,
    });
  }
}

/** Strict base64 (RFC 4648 with padding), since Node's decoder silently skips bad characters. */
export function decodeBase64Strict(text: unknown): Uint8Array | undefined {
  if (
    typeof text !== 'string' ||
    !/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)
  ) {
    return undefined;
  }
  const decoded = Buffer.from(text, 'base64');
  // Short results live in Node's shared buffer pool: copied out, and zeroed there.
  const bytes = new Uint8Array(decoded);
  decoded.fill(0);
  return bytes;
}
