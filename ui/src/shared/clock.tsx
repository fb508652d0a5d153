import { createContext, useContext, useEffect, useState, type ReactNode } from "react";

// One interval drives every time display (waiting times, countdowns,
// "Updated Ns ago"). Tests replace it with vi.useFakeTimers().
const ClockContext = createContext<number | null>(null);

export function ClockProvider({
  children,
  tickMs = 1000,
  source = Date.now,
}: {
  children: ReactNode;
  tickMs?: number;
  source?: () => number;
}) {
  const [now, setNow] = useState(source);
  useEffect(() => {
    const id = setInterval(() => setNow(source()), tickMs);
    return () => clearInterval(id);
  }, [tickMs, source]);
  return <ClockContext.Provider value={now}>{children}</ClockContext.Provider>;
}

/** The current time in ms since the epoch, updated once per tick. */
export function useNow(): number {
  const now = useContext(ClockContext);
  if (now === null) throw new Error("useNow() outside <ClockProvider>");
  return now;
}
