import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { ConfirmDialog } from "./ConfirmDialog";

describe("modal dialogs keep Tab inside", () => {
  it("wraps past the last control to the first, and back with Shift+Tab", async () => {
    const user = userEvent.setup();
    render(
      <>
        <button type="button">behind</button>
        <ConfirmDialog title="Sure?" confirmLabel="Do it" onConfirm={() => {}} onCancel={() => {}}>
          <p>text</p>
        </ConfirmDialog>
      </>,
    );
    const cancel = screen.getByRole("button", { name: "Cancel" });
    const confirm = screen.getByRole("button", { name: "Do it" });
    expect(cancel).toHaveFocus();
    await user.tab();
    expect(confirm).toHaveFocus();
    await user.tab();
    expect(cancel).toHaveFocus();
    await user.tab({ shift: true });
    expect(confirm).toHaveFocus();
    expect(screen.getByRole("button", { name: "behind" })).not.toHaveFocus();
  });
});
