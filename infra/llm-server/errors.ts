/** Errors in the shape OpenAI clients parse (`{error:{message,type,param,code}}`), so SDK retries and messages work. */
export class ApiError extends Error {
  override name = 'ApiError';

  constructor(
    readonly status: number,
    message: string,
    readonly type: string,
    readonly code: string | null = null,
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  toBody(): { error: { message: string; type: string; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export const invalidRequest = (message: string, param: string | null = null, code: string | null = null): ApiError =>
  new ApiError(400, message, 'invalid_request_error', code, param);

export const notFound = (message: string, code: string | null = null, param: string | null = null): ApiError =>
  new ApiError(404, message, 'invalid_request_error', code, param);

export const methodNotAllowed = (message: string, allow: string): ApiError =>
  new ApiError(405, message, 'invalid_request_error', 'method_not_allowed', null, { Allow: allow });

export const payloadTooLarge = (limitBytes: number): ApiError =>
  new ApiError(413, `request body exceeds ${limitBytes} bytes`, 'invalid_request_error', 'payload_too_large');

/** 429 and 503 carry Retry-After: the project's LLM activities honour it as the next retry delay. */
export const queueFull = (queued: number, retryAfterSeconds: number): ApiError =>
  new ApiError(429, `server busy: all sequences in use and ${queued} requests already queued; retry later`,
    'rate_limit_error', 'queue_full', null, { 'Retry-After': String(retryAfterSeconds) });

export const unavailable = (message: string, retryAfterSeconds: number): ApiError =>
  new ApiError(503, message, 'server_error', 'unavailable', null, { 'Retry-After': String(retryAfterSeconds) });

export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new ApiError(500, `internal error: ${message}`, 'server_error', 'internal_error');
}
