// The command wrapper is derived from the bindings: every command is there,
// answers with its data, and fails with a typed ApiError.
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { commands } from "../bindings";
import { api } from "./tauri";
import { ApiError } from "./errors";

afterEach(() => clearMocks());

describe("api (derived from the bindings' commands)", () => {
  it("has exactly the bindings' commands", () => {
    expect(Object.keys(api).sort()).toEqual(Object.keys(commands).sort());
  });

  it("resolves to a command's data and rejects with its typed error", async () => {
    mockIPC((cmd, payload) => {
      if (cmd === "settings_history") return [{ limit: (payload as { limit: number }).limit }];
      throw { code: "not_found", message: `no ${cmd}` };
    });
    await expect(api.settingsHistory(3)).resolves.toEqual([{ limit: 3 }]);
    const e: unknown = await api.getDefinition("x").catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ApiError);
    expect(e).toMatchObject({ code: "not_found", message: "no get_definition" });
  });
});
