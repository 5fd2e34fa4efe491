import { SknockCrlError } from './errors.js';
import { MAX_CRL_BYTES } from './crl-bundle.js';

/**
 * One conditional GET of a CRL over http(s) with the global fetch: If-None-Match (ETag) and
 * If-Modified-Since from the last accepted download, a time limit (AbortSignal.timeout), and
 * a size limit enforced while the body streams in.
 */

export interface CrlValidators {
  readonly etag?: string;
  readonly lastModified?: string;
}

export type CrlFetchResult =
  | { readonly status: 'not-modified' }
  | { readonly status: 'ok'; readonly body: Uint8Array; readonly validators: CrlValidators };

export interface FetchCrlOptions {
  readonly url: string;
  readonly validators?: CrlValidators;
  readonly timeoutMs: number;
  /** Aborts the request early (the manager's stop()). */
  readonly signal?: AbortSignal;
  readonly maxBytes?: number;
}

export async function fetchCrl(options: FetchCrlOptions): Promise<CrlFetchResult> {
  const headers: Record<string, string> = { accept: 'application/pkix-crl, application/x-pkcs7-crl;q=0.9, */*;q=0.5' };
  if (options.validators?.etag) headers['if-none-match'] = options.validators.etag;
  if (options.validators?.lastModified) headers['if-modified-since'] = options.validators.lastModified;
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  const maxBytes = options.maxBytes ?? MAX_CRL_BYTES;
  let response: Response;
  try {
    response = await fetch(options.url, { headers, signal, redirect: 'follow' });
  } catch (cause) {
    throw new SknockCrlError('ERR_SKNOCK_CRL_FETCH', describeFetchError(cause, options, timeout), { cause });
  }
  if (response.status === 304) {
    await response.body?.cancel().catch(() => undefined);
    return { status: 'not-modified' };
  }
  if (response.status !== 200) {
    await response.body?.cancel().catch(() => undefined);
    throw new SknockCrlError('ERR_SKNOCK_CRL_FETCH', `GET ${options.url} answered HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`);
  }
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new SknockCrlError('ERR_SKNOCK_CRL_FETCH', `GET ${options.url}: CRL of ${declared} bytes is larger than the ${maxBytes} accepted`);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    if (response.body) {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        total += chunk.length;
        if (total > maxBytes) {
          throw new SknockCrlError('ERR_SKNOCK_CRL_FETCH', `GET ${options.url}: CRL is larger than the ${maxBytes} bytes accepted`);
        }
        chunks.push(chunk);
      }
    }
  } catch (cause) {
    if (cause instanceof SknockCrlError) throw cause;
    throw new SknockCrlError('ERR_SKNOCK_CRL_FETCH', describeFetchError(cause, options, timeout), { cause });
  }
  const body = new Uint8Array(Buffer.concat(chunks, total));
  const etag = response.headers.get('etag') ?? undefined;
  const lastModified = response.headers.get('last-modified') ?? undefined;
  return { status: 'ok', body, validators: { ...(etag ? { etag } : {}), ...(lastModified ? { lastModified } : {}) } };
}

function describeFetchError(cause: unknown, options: FetchCrlOptions, timeout: AbortSignal): string {
  if (timeout.aborted) return `GET ${options.url} timed out after ${options.timeoutMs} ms`;
  if (options.signal?.aborted) return `GET ${options.url} was cancelled`;
  const err = cause as { message?: string; cause?: { code?: string; message?: string } };
  const code = err.cause?.code;
  const message = err.cause?.message ?? err.message ?? String(cause);
  const detail = code === undefined || message.includes(code) ? message : `${code}: ${message}`;
  return `GET ${options.url} failed: ${detail}`;
}
