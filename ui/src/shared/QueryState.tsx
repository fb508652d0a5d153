import type { ReactNode } from "react";
import { ErrorNotice } from "./ErrorNotice";

/** What QueryState reads of a query: its data (undefined until the first answer) and its error. */
export interface QueryLike<T> {
  data?: T;
  error: unknown;
}

/**
 * A query's loading and error states, shown the same way in every view:
 * - its error as a typed `ErrorNotice` titled `errorTitle` (in a `div` of
 *   `errorClassName` when given). With `replace`, the error shows instead
 *   of the data (a detail whose data may be stale); otherwise above the
 *   data kept from the last success (a list that keeps showing it);
 * - `loading` (in a `div` of `loadingClassName`) until the first answer,
 *   when given;
 * - `children(data)` once there is data.
 */
export function QueryState<T>({
  query,
  errorTitle,
  errorClassName,
  replace = false,
  loading,
  loadingClassName = "text-muted",
  children,
}: {
  query: QueryLike<T>;
  errorTitle: string;
  errorClassName?: string;
  replace?: boolean;
  loading?: ReactNode;
  loadingClassName?: string;
  children?: (data: T) => ReactNode;
}) {
  const { data, error } = query;
  const notice = error ? <ErrorNotice error={error} title={errorTitle} /> : null;
  const errorShown = notice && errorClassName ? <div className={errorClassName}>{notice}</div> : notice;
  if (error && replace) return errorShown;
  return (
    <>
      {errorShown}
      {data === undefined ? !error && loading !== undefined && <div className={loadingClassName}>{loading}</div> : children?.(data)}
    </>
  );
}
