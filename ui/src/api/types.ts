// Data shapes crossing the Tauri bridge: re-exported from the bindings the
// shell generates from Rust (`src/bindings.ts`, never edited by hand). The
// core's enums and error codes arrive there as string-literal unions; the UI
// declares none of them itself, only UI-side names for a few of them.
export type {
  AccountPreview,
  AccountRefresh,
  AccountStats,
  AlertKind,
  AlertsRaised,
  AppliedDefinition,
  BotStatus,
  BuilderColumn,
  BuilderTable,
  Decision,
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
  ErrorCode,
  History,
  HistorySeries,
  HistorySpan,
  IdleTarget,
  Impact,
  MeetingPlatform,
  Notice,
  SavedDefinition,
  ScalingDecision,
  ScalingView,
  Validation,
  ChangeEvent,
  ChangeKind,
  CloseAnswer,
  CloseImpact,
  CloseRequested,
  CommandError,
  ConnectionStatus,
  PlatformEdit,
  PlatformKind,
  PlatformOverview,
  PlatformReach,
  PlatformSettings,
  PlatformsOverview,
  Pool,
  PoolStats,
  QueueSnapshot,
  QueueStats,
  Settings,
  SettingsChange,
  SlotFilter,
  SlotStatus,
  SlotView,
  StatusCounts,
  TraceEntry,
  Topic,
} from "../bindings";
import type { BotView, Health, PlatformKind, SlotStatus, SlotView, Waiting } from "../bindings";

/** One queued request with its estimated wait (the core's `overview::Waiting`). */
export type QueueEntry = Waiting;
/** A slot as the table shows it (the core's `SlotView`). */
export type Slot = SlotView;
/** A bot with its decision trace (the core's `BotView`). */
export type BotDetails = BotView;
/** A platform's health as its last fresh check saw it (the core's `Health`). */
export type PlatformHealth = Health;
/** Where slots run (the core's `PlatformKind`). */
export type DeploymentPlatform = PlatformKind;

/**
 * `values` as given, accepted by the compiler only when it lists every member
 * of the union `T` (and nothing else): `exhaustive<SlotStatus>()([...])`.
 */
export function exhaustive<T extends string>() {
  return <const A extends readonly T[]>(values: A & ([Exclude<T, A[number]>] extends [never] ? unknown : never)): A =>
    values;
}

/** Every slot status, in display order. */
export const SLOT_STATUSES: readonly SlotStatus[] = exhaustive<SlotStatus>()(["idle", "deploying", "busy", "error"]);

/** Fields an environment variable can pin (keys of `PlatformSettings.pinned`). */
export type PinnableField = "position" | "enabled" | "botLimit" | "queueTimeoutMs";
