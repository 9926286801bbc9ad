/**
 * The API's error model: every failure is JSON `{ error: { code, message } }` with a stable `code`
 * that clients switch on, and the HTTP status that matches it. Messages are for people and may change;
 * codes may not.
 */

/** Every error code the API can return, with the HTTP status it travels with. */
export const ERROR_STATUS = {
  'bad-request': 400,
  'empty-body': 400,
  'bad-json': 400,
  'bad-url': 400,
  'bad-policy': 400,
  'bad-format': 400,
  'bad-query': 400,
  unauthorized: 401,
  forbidden: 403,
  'url-refused': 403,
  'not-found': 404,
  'method-not-allowed': 405,
  'too-large': 413,
  'unsupported-media-type': 415,
  'not-a-model': 415,
  unscannable: 422,
  'convert-refused': 422,
  'too-many-requests': 429,
  internal: 500,
  'upstream-error': 502,
  'hub-unavailable': 503,
  'time-budget-exceeded': 504,
} as const;

/** A stable error code of the API. */
export type ErrorCode = keyof typeof ERROR_STATUS;

/** HTTP status of an API error. */
export type ErrorStatus = (typeof ERROR_STATUS)[ErrorCode];

/** Shape of every error body. `report` is present when part of the input was scanned before the failure. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: Record<string, string | number | boolean> };
  report?: unknown;
}

/**
 * An error a handler throws to end a request with a given code. The app's error handler turns it
 * into the JSON body; anything else thrown becomes `internal` with no detail leaked.
 */
export class ApiError extends Error {
  readonly status: ErrorStatus;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, string | number | boolean>,
    /** Whatever was found before the failure (a rendered report), so it is never lost. */
    readonly report?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = ERROR_STATUS[code];
  }

  /** The JSON body sent to the client. */
  toBody(): ErrorBody {
    const body: ErrorBody = { error: { code: this.code, message: this.message } };
    if (this.details) body.error.details = this.details;
    if (this.report !== undefined) body.report = this.report;
    return body;
  }
}
