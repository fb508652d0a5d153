import type { CommandError, ErrorCode } from "./types";

/** A typed command failure, thrown by the API module and surfaced by the UI. */
export class ApiError extends Error implements CommandError {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = "ApiError";
    this.code = code;
  }
}

export const DATABASE_UNAVAILABLE = "database_unavailable" satisfies ErrorCode;

function isCommandError(e: unknown): e is CommandError {
  return (
    typeof e === "object" &&
    e !== null &&
    typeof (e as CommandError).code === "string" &&
    typeof (e as CommandError).message === "string"
  );
}

/** Any rejection as an ApiError: typed `{code, message}` kept, anything else `internal`. */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (isCommandError(e)) return new ApiError(e.code, e.message);
  if (e instanceof Error) return new ApiError("internal", e.message);
  return new ApiError("internal", typeof e === "string" ? e : "unexpected error");
}

export function errorCode(e: unknown): ErrorCode | null {
  if (e instanceof ApiError) return e.code;
  return isCommandError(e) ? e.code : null;
}
