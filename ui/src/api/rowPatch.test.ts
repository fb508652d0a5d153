import { QueryClient, QueryObserver } from "@tanstack/react-query";
import { makeSlots } from "../test/fixtures";
import type { Slot } from "./types";
import { patchList, patchRows, type RowPatch } from "./rowPatch";

const all = makeSlots(6);
const everywhere = () => true;

describe("patchList", () => {
  it("replaces the rows read in place and keeps the others (the same objects)", () => {
    const changed = { ...all[2]!, status: "busy" as const, assignedBotId: 7 };
    const out = patchList(all, [3], [changed], everywhere);
    expect(out).not.toBe(all);
    expect(out).toEqual([all[0], all[1], changed, all[3], all[4], all[5]]);
    expect((out as Slot[])[0]).toBe(all[0]);
  });

  it("drops rows that are gone or no longer belong, and keeps the list when nothing changed", () => {
    expect(patchList(all, [2, 4], [all[3]!], everywhere)).toEqual([all[0], all[2], all[3], all[4], all[5]]);
    expect(patchList(all, [2], [{ ...all[1]! }], everywhere)).toBe(all);
    expect(patchList(all, [1], [all[0]!], (r) => r.pool === "nowhere")).toEqual(all.slice(1));
  });

  it("asks for the list when a row belongs in it but is not there (its place is the list's order)", () => {
    const created = { ...all[0]!, id: 99 };
    expect(patchList(all, [99], [created], everywhere)).toBe("new rows");
    // A new row of another list is none of this one's business.
    expect(patchList(all, [99], [created], () => false)).toBe(all);
  });
});

/** A client holding `all` under ["s"], and a patch whose reads end when the test says. */
function setup() {
  const client = new QueryClient();
  client.setQueryData(["s", 1], all);
  const reads: { ids: number[]; resolve: (rows: Slot[]) => void; reject: (e: unknown) => void }[] = [];
  const patch: RowPatch<Slot> = {
    key: ["s"],
    read: (ids) => new Promise((resolve, reject) => reads.push({ ids, resolve, reject })),
    belongs: () => true,
    maxIds: 3,
  };
  const refetched: unknown[] = [];
  const refetch = (k: unknown) => void refetched.push(k);
  return { client, reads, patch, refetched, refetch };
}

describe("patchRows", () => {
  it("reads ids that come during a read in one more read after it", async () => {
    const { client, reads, patch, refetch, refetched } = setup();
    patchRows(client, patch, [1], refetch);
    patchRows(client, patch, [2], refetch);
    patchRows(client, patch, [3, 2], refetch);
    expect(reads.map((r) => r.ids)).toEqual([[1]]);
    reads[0]!.resolve([{ ...all[0]!, draining: true }]);
    await vi.waitFor(() => expect(reads).toHaveLength(2));
    expect(reads[1]!.ids.sort()).toEqual([2, 3]);
    reads[1]!.resolve([{ ...all[1]!, draining: true }, all[2]!]);
    await vi.waitFor(() => expect(client.getQueryData<Slot[]>(["s", 1])![1]!.draining).toBe(true));
    expect(client.getQueryData<Slot[]>(["s", 1])![0]!.draining).toBe(true);
    expect(refetched).toEqual([]);
  });

  it("reads the list again for too many ids, a failed read, or a list read under way", async () => {
    const { client, reads, patch, refetch, refetched } = setup();
    patchRows(client, patch, [1, 2, 3, 4], refetch);
    expect(refetched).toEqual([["s"]]);
    patchRows(client, patch, [1], refetch);
    await vi.waitFor(() => expect(reads).toHaveLength(1));
    reads[0]!.reject(new Error("gone"));
    await vi.waitFor(() => expect(refetched).toHaveLength(2));
    // A list read under way may have read before the change.
    let release = () => undefined as void;
    const observer = new QueryObserver(client, { queryKey: ["s", 1], queryFn: () => new Promise<Slot[]>((r) => (release = () => r(all))), staleTime: 0 });
    const stop = observer.subscribe(() => undefined);
    await vi.waitFor(() => expect(client.isFetching({ queryKey: ["s"] })).toBe(1));
    patchRows(client, patch, [1], refetch);
    await vi.waitFor(() => expect(refetched).toHaveLength(3));
    expect(reads).toHaveLength(1);
    release();
    stop();
  });

  it("reads the list again when it was read meanwhile (which of the two is newer is unknown)", async () => {
    const { client, reads, patch, refetch, refetched } = setup();
    patchRows(client, patch, [1], refetch);
    client.setQueryData(["s", 1], [...all], { updatedAt: Date.now() + 1 });
    reads[0]!.resolve([{ ...all[0]!, draining: true }]);
    await vi.waitFor(() => expect(refetched).toEqual([["s", 1]]));
    expect(client.getQueryData<Slot[]>(["s", 1])![0]!.draining).toBe(false);
  });
});
