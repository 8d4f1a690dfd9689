/** A promise a test opens by hand: one side awaits `opened`, the other calls `open()` when it is time. */
export function gate(): { open: () => void; opened: Promise<void> } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}
