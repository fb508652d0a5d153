import "@testing-library/jest-dom/vitest";
import { MotionGlobalConfig } from "motion";

// Animations finish at once in tests; assertions read data, not frames.
MotionGlobalConfig.skipAnimations = true;
