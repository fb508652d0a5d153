import { act, renderHook, waitFor } from "@testing-library/react";
import type { ReactNode } from "react";
import { ApiError } from "../../api/errors";
import { ApiProvider } from "../../api/provider";
import { LIVE_INVALIDATIONS } from "../../invalidations";
import { detail, validate, yaml } from "../../test/definitions";
import { mockApi, resetMockApi } from "../../test/mockApi";
import { testClient } from "../../test/render";
import { useDefinitionEditor, type EditorInput } from "./useDefinitionEditor";

vi.mock("../../api/tauri", async () => (await import("../../test/mockApi")).tauriModule);

const SLOW = { timeout: 5_000 };

function wrapper({ children }: { children: ReactNode }) {
  return (
    <ApiProvider client={testClient()} invalidations={LIVE_INVALIDATIONS}>
      {children}
    </ApiProvider>
  );
}

function editorOf(input: Partial<EditorInput> = {}) {
  const onSaved = vi.fn<EditorInput["onSaved"]>();
  const onDeleted = vi.fn<EditorInput["onDeleted"]>();
  const props: EditorInput = {
    original: "zoom",
    detail: detail("zoom", yaml("zoom", 5), null, { state: "notApplied" }),
    broken: null,
    onSaved,
    onDeleted,
    ...input,
  };
  const hook = renderHook(() => useDefinitionEditor(props), { wrapper });
  return { ...hook, onSaved, onDeleted };
}

const valid = (result: { current: ReturnType<typeof useDefinitionEditor> }) => waitFor(() => expect(result.current.validation.valid).toBe(true), SLOW);

beforeEach(() => {
  resetMockApi();
  mockApi.validateDefinition.mockImplementation(validate);
});

describe("useDefinitionEditor", () => {
  it("is valid only for the text as it is now, and lists a text's problems with their lines", async () => {
    const { result } = editorOf();
    await valid(result);
    expect(result.current.unsaved).toBe(false);
    act(() => result.current.edit(yaml("zoom", 5).replace("max_size: 5", "max_size: x")));
    expect(result.current.validation.valid).toBe(false);
    expect(result.current.unsaved).toBe(true);
    await waitFor(() => expect(result.current.validation.problems).toHaveLength(1), SLOW);
    expect([...result.current.validation.problemLines]).toEqual([5]);
    expect(result.current.validation.summary).toBeNull();
  });

  it("keeps a save's note under the same name, hands it to the page on a rename, and an edit clears it", async () => {
    mockApi.saveDefinition.mockResolvedValueOnce({ name: "zoom", file: "zoom.yaml", renamedFrom: null });
    const { result, onSaved } = editorOf();
    act(() => result.current.edit(yaml("zoom", 6)));
    await valid(result);
    act(() => result.current.actions.save());
    await waitFor(() => expect(result.current.notice).toBe("Saved zoom.yaml."), SLOW);
    expect(mockApi.saveDefinition).toHaveBeenCalledWith("zoom", yaml("zoom", 6));
    expect(onSaved).not.toHaveBeenCalled();
    act(() => result.current.edit(yaml("zoom2", 6)));
    expect(result.current.notice).toBeNull();

    mockApi.saveDefinition.mockResolvedValueOnce({ name: "zoom2", file: "zoom2.yaml", renamedFrom: "zoom.yaml" });
    await valid(result);
    act(() => result.current.actions.save());
    await waitFor(() => expect(onSaved).toHaveBeenCalledWith("zoom2", "Saved as zoom2.yaml (moved from zoom.yaml)."), SLOW);
  });

  it("repairs a broken file instead of saving it, and says where it went", async () => {
    mockApi.repairDefinition.mockResolvedValueOnce({ name: "zoom", file: "zoom.yaml", renamedFrom: null });
    const { result, onSaved } = editorOf({ original: null, detail: null, broken: { file: "broken.yaml", text: yaml("zoom", 5) } });
    await valid(result);
    act(() => result.current.actions.save());
    await waitFor(() => expect(onSaved).toHaveBeenCalledWith("zoom", "Repaired broken.yaml: saved as zoom.yaml."), SLOW);
    expect(mockApi.repairDefinition).toHaveBeenCalledWith("broken.yaml", yaml("zoom", 5));
    expect(mockApi.saveDefinition).not.toHaveBeenCalled();
  });

  it("shows only the latest action's error", async () => {
    mockApi.applyDefinition.mockRejectedValueOnce(new ApiError("conflict", "slots are busy"));
    mockApi.testDefinition.mockImplementation(() => new Promise(() => {}));
    const { result } = editorOf();
    act(() => result.current.actions.apply());
    await waitFor(() => expect(result.current.actions.error?.message).toBe("slots are busy"), SLOW);
    act(() => result.current.actions.test());
    await waitFor(() => expect(result.current.actions.error).toBeNull(), SLOW);
    expect(mockApi.testDefinition).toHaveBeenCalledWith(yaml("zoom", 5));
  });

  it("opens the form only on a valid text, and a field edits its line of the text", async () => {
    const { result } = editorOf();
    act(() => result.current.mode.chooseForm());
    expect(result.current.mode.mode).toBe("yaml");
    await valid(result);
    act(() => result.current.mode.chooseForm());
    expect(result.current.mode.mode).toBe("form");
    expect(result.current.mode.form?.max_size).toBe("5");
    act(() => result.current.mode.setField("max_size", "9"));
    expect(result.current.mode.form?.max_size).toBe("9");
    expect(result.current.text).toBe(yaml("zoom", 9));
  });

  it("asks before the builder replaces a hand-written query, and refuses other sources", async () => {
    const withQuery = `${yaml("zoom", 5)}accounts:\n  type: sql\n  query:\n    select: SELECT id FROM accounts\n`;
    const { result } = editorOf({ detail: detail("zoom", withQuery, null, { state: "notApplied" }) });
    act(() => result.current.mode.chooseBuilder());
    expect(result.current.mode.confirmBuilder).toBe(true);
    expect(result.current.mode.mode).toBe("yaml");
    act(() => result.current.mode.acceptBuilder());
    expect(result.current.mode.mode).toBe("builder");
    expect(result.current.mode.confirmBuilder).toBe(false);

    act(() => result.current.edit(`${yaml("zoom", 5)}accounts:\n  type: file\n`));
    expect(result.current.mode.builderBlocked).toBe("The query builder is for SQL account sources (this one is file)");
  });

  it("deletes after confirmation and reports the deleted file", async () => {
    mockApi.deleteDefinition.mockResolvedValueOnce({ name: "zoom", file: "zoom.yaml", note: "retired" });
    const { result, onDeleted } = editorOf();
    act(() => result.current.actions.askDelete());
    expect(result.current.actions.confirmDelete).toBe(true);
    act(() => void result.current.actions.delete());
    await waitFor(() => expect(onDeleted).toHaveBeenCalledWith("Deleted zoom.yaml: retired."), SLOW);
    expect(result.current.actions.confirmDelete).toBe(false);
  });
});
