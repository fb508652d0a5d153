// The mock backend answers the bindings' IPC calls through its typed handlers.
import { commandName, dispatch, type MockBackend } from "./mockBackend";

describe("mock backend dispatch", () => {
  const backend = {
    saveDefinition: (originalName: string | null, text: string) => ({ name: `${originalName}:${text}`, file: "f.yaml", renamedFrom: null }),
    listPools: () => [],
  } as unknown as MockBackend;

  it("maps Tauri command names to the bindings' names", () => {
    expect(commandName("list_slots")).toBe("listSlots");
    expect(commandName("read_definition_file")).toBe("readDefinitionFile");
    expect(commandName("pool_stats")).toBe("poolStats");
  });

  it("passes the payload's values as the handler's arguments, in order", () => {
    expect(dispatch(backend, "save_definition", { originalName: "a", text: "b" })).toMatchObject({ name: "a:b" });
    expect(dispatch(backend, "list_pools", undefined)).toEqual([]);
  });

  it("refuses an unknown command with not_found", () => {
    expect(() => dispatch(backend, "launch_rockets", {})).toThrow(expect.objectContaining({ code: "not_found" }));
    expect(() => dispatch(backend, "to_string", {})).toThrow(expect.objectContaining({ code: "not_found" }));
  });
});
