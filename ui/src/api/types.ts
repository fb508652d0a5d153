// Data shapes crossing the Tauri bridge: re-exported from the bindings the
// shell generates from Rust (`src/bindings.ts`, never edited by hand), plus
// a few UI-side names.
export type {
  AccountPreview,
  AccountRefresh,
  AccountStats,
  AppliedDefinition,
  BuilderColumn,
  BuilderTable,
  DefinitionDetail,
  DefinitionList,
  DefinitionProblem,
  DefinitionRow,
  DefinitionState,
  DefinitionSummary,
  DefinitionTest,
  DeletedDefinition,
  DeployBatch,
  DeployRequest,
  Impact,
  SavedDefinition,
  Validation,
  BotDetails,
  ChangeEvent,
  ChangeKind,
  CloseAnswer,
  CloseImpact,
  CloseRequested,
  CommandError,
  ConnectionStatus,
  PlatformEdit,
  PlatformHealth,
  PlatformOverview,
  PlatformReach,
  PlatformSettings,
  PlatformsOverview,
  Pool,
  PoolStats,
  QueueEntry,
  QueueSnapshot,
  QueueStats,
  Settings,
  SettingsChange,
  Slot,
  SlotFilter,
  StatusCounts,
  TraceEntry,
} from "../bindings";
import type { Slot } from "../bindings";

export type SlotView = Slot;
export type SlotStatus = "idle" | "deploying" | "busy" | "error";
export const SLOT_STATUSES: readonly SlotStatus[] = ["idle", "deploying", "busy", "error"];
export type DeploymentPlatform = "k8s" | "aws" | "coolify" | "local";
/** Fields an environment variable can pin (keys of `PlatformSettings.pinned`). */
export type PinnableField = "position" | "enabled" | "botLimit" | "queueTimeoutMs";
