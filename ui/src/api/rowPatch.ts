// Per-row updates: a change event that names the slots it changed
// (`slotIds`) makes the app read just those rows and patch them into the
// cached lists by id, instead of reading every list again (a list of
// 10,000 slots takes about a second to read). The list is still read
// again whenever a patch cannot be trusted: a row that is new to a list,
// too many ids, a failed read, or a list read under way or done meanwhile.
import type { QueryClient, QueryKey } from "@tanstack/react-query";

/** How the rows of one kind of list are read by id and placed. */
export interface RowPatch<Row extends { id: number }> {
  /** The prefix of the query keys whose data are lists of these rows. */
  key: QueryKey;
  // Methods (not function-typed fields), so a patch of slots serves where
  // a patch of any rows with an id is expected (`RowPatches`).
  /** Reads the rows of `ids` that still exist (one missing was deleted). */
  read(ids: number[]): Promise<Row[]>;
  /** Whether `row` belongs in the list under `queryKey` (its filter). */
  belongs(queryKey: QueryKey, row: Row): boolean;
  /** Most ids one read takes; more, and the lists are read again. */
  maxIds: number;
}

/** Per client and patch: the ids waiting for the read under way to end. */
const waiting = new WeakMap<QueryClient, Map<RowPatch<never>, Set<number> | null>>();

/**
 * Patches the rows of `ids` into every cached list of `patch`; `refetch`
 * reads a list (by its exact key, or every list of `patch.key`) again. A
 * read under way is not doubled: ids that come meanwhile are read in one
 * more read after it.
 */
export function patchRows<Row extends { id: number }>(
  client: QueryClient,
  patch: RowPatch<Row>,
  ids: readonly number[],
  refetch: (key: QueryKey) => void,
) {
  let byPatch = waiting.get(client);
  if (!byPatch) waiting.set(client, (byPatch = new Map()));
  const key = patch as unknown as RowPatch<never>;
  const queued = byPatch.get(key);
  if (queued !== undefined) {
    // A read is under way: these ids follow it.
    const next = queued ?? new Set<number>();
    ids.forEach((id) => next.add(id));
    byPatch.set(key, next);
    return;
  }
  if (ids.length === 0) return;
  byPatch.set(key, null);
  void readAndPatch(client, patch, [...new Set(ids)], refetch).finally(() => {
    const more = byPatch.get(key);
    byPatch.delete(key);
    if (more) patchRows(client, patch, [...more], refetch);
  });
}

async function readAndPatch<Row extends { id: number }>(
  client: QueryClient,
  patch: RowPatch<Row>,
  ids: number[],
  refetch: (key: QueryKey) => void,
) {
  // A list read under way may have read before this change (it would
  // overwrite the patch with older rows): it is followed by one more read.
  if (ids.length > patch.maxIds || client.isFetching({ queryKey: patch.key }) > 0) {
    refetch(patch.key);
    return;
  }
  const before = new Map(client.getQueriesData<Row[]>({ queryKey: patch.key }).map(([k]) => [JSON.stringify(k), client.getQueryState(k)?.dataUpdatedAt]));
  let rows: Row[];
  try {
    rows = await patch.read(ids);
  } catch {
    refetch(patch.key);
    return;
  }
  for (const [queryKey, list] of client.getQueriesData<Row[]>({ queryKey: patch.key })) {
    if (!Array.isArray(list)) continue;
    // Read again meanwhile (a list read, the safety net): which of the two is newer is unknown.
    const id = JSON.stringify(queryKey);
    if (before.get(id) !== client.getQueryState(queryKey)?.dataUpdatedAt) {
      refetch(queryKey);
      continue;
    }
    const patched = patchList(list, ids, rows, (row) => patch.belongs(queryKey, row));
    if (patched === "new rows") refetch(queryKey);
    else if (patched !== list) client.setQueryData(queryKey, patched);
  }
}

/**
 * `list` with the rows of `ids` replaced by `rows` (same place), those no
 * longer there or no longer belonging removed; `list` itself when nothing
 * changed; "new rows" when a row belongs in the list but is not in it (its
 * place is the list's order: read it again).
 */
export function patchList<Row extends { id: number }>(
  list: Row[],
  ids: readonly number[],
  rows: readonly Row[],
  belongs: (row: Row) => boolean,
): Row[] | "new rows" {
  const fresh = new Map(rows.map((r) => [r.id, r]));
  const asked = new Set(ids);
  const present = new Set<number>();
  let changed = false;
  const out: Row[] = [];
  for (const row of list) {
    if (!asked.has(row.id)) {
      out.push(row);
      continue;
    }
    present.add(row.id);
    const now = fresh.get(row.id);
    if (now === undefined || !belongs(now)) {
      changed = true;
      continue;
    }
    if (!sameRow(now, row)) changed = true;
    out.push(sameRow(now, row) ? row : now);
  }
  if (rows.some((r) => !present.has(r.id) && belongs(r))) return "new rows";
  return changed ? out : list;
}

/** Same fields and values (rows are flat records of scalars). */
function sameRow<Row extends object>(a: Row, b: Row): boolean {
  const keys = Object.keys(a) as (keyof Row)[];
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}
