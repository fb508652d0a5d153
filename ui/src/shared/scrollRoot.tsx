// The app's one scroll area (the main column): views and virtualised tables
// scroll it instead of nesting scroll boxes of their own.
import { createContext, useContext } from "react";

/** The element the page scrolls in; null outside the app shell (a table then scrolls itself). */
export const ScrollRootContext = createContext<HTMLElement | null>(null);

export const useScrollRoot = () => useContext(ScrollRootContext);
