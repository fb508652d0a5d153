// The pools view's queries: definitions, their validation and test, the
// actions on them, the query builder's catalogue, and deploying bots.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { ApiError } from "../api/errors";
import type { Invalidations } from "../api/invalidation";
import { api } from "../api/tauri";
import type { AccountRefresh, DeployBatch, DeployRequest } from "../api/types";
import { dashboardKeys } from "../dashboard/queries";
import { infrastructureKeys } from "../infrastructure/queries";
import { parseSchema } from "./yaml/schema";

export const poolsKeys = {
  /** Every definition key (their common prefix). */
  all: ["pools"] as const,
  definitions: ["pools", "definitions"] as const,
  definition: (name: string) => ["pools", "definition", name] as const,
  /** Every pool's scaling (their common prefix). */
  scalingAll: ["pools", "scaling"] as const,
  scaling: (pool: string) => ["pools", "scaling", pool] as const,
  validation: (text: string) => ["definition-validation", text] as const,
  file: (file: string) => ["definition-file", file] as const,
  tables: ["query-tables"] as const,
  columns: (table: string) => ["table-columns", table] as const,
  schema: ["definition-schema"] as const,
};

/** A pool change (saved, applied, refreshed, deleted) anywhere refreshes the definitions; a scaling decision the Scaling panels. */
export const poolsInvalidations: Invalidations = {
  pools: [poolsKeys.all],
  scaling: [poolsKeys.scalingAll],
};

// ---- definitions ------------------------------------------------------------

export const useDefinitions = () => useQuery({ queryKey: poolsKeys.definitions, queryFn: api.listDefinitions });

export const useDefinition = (name: string | null) =>
  useQuery({
    queryKey: poolsKeys.definition(name ?? ""),
    queryFn: () => api.getDefinition(name as string),
    enabled: name !== null,
  });

/** A pool's scaling: the target now with its parts and the recent decisions. */
export const usePoolScaling = (pool: string) => useQuery({ queryKey: poolsKeys.scaling(pool), queryFn: () => api.poolScaling(pool) });

/** Validation of `text` (already debounced by the caller); never cached as stale. */
export const useValidation = (text: string) =>
  useQuery({
    queryKey: poolsKeys.validation(text),
    queryFn: () => api.validateDefinition(text),
    staleTime: Infinity,
    refetchInterval: false,
    placeholderData: (prev) => prev,
  });

function useDefinitionMutation<T, V>(fn: (v: V) => Promise<T>) {
  const client = useQueryClient();
  return useMutation<T, ApiError, V>({
    mutationFn: fn,
    onSettled: () => void client.invalidateQueries({ queryKey: poolsKeys.all }),
  });
}

export const useSaveDefinition = () =>
  useDefinitionMutation((v: { originalName: string | null; text: string }) => api.saveDefinition(v.originalName, v.text));
export const useApplyDefinition = () => useDefinitionMutation((name: string) => api.applyDefinition(name));
export const useRefreshAccounts = () => useDefinitionMutation((name: string) => api.refreshAccounts(name));
export const useDeleteDefinition = () => useDefinitionMutation((name: string) => api.deleteDefinition(name));
/** Repairs a broken file with valid text (`repairDefinition`). */
export const useRepairDefinition = () =>
  useDefinitionMutation((v: { file: string; text: string }) => api.repairDefinition(v.file, v.text));

/** The raw text of a file in the pools directory (a broken one, to repair); read once per opening. */
export const useDefinitionFile = (file: string | null) =>
  useQuery({
    queryKey: poolsKeys.file(file ?? ""),
    queryFn: () => api.readDefinitionFile(file as string),
    enabled: file !== null,
    staleTime: Infinity,
    refetchInterval: false,
    gcTime: 0,
  });

/** The definition format's JSON Schema (the editor's completion and help): fixed for a build, fetched once. */
export const useDefinitionSchema = () =>
  useQuery({
    queryKey: poolsKeys.schema,
    queryFn: async () => parseSchema(await api.definitionSchema()),
    staleTime: Infinity,
    refetchInterval: false,
    retry: false,
  });

export const useTestDefinition = () =>
  useMutation<Awaited<ReturnType<typeof api.testDefinition>>, ApiError, string>({ mutationFn: (text) => api.testDefinition(text) });

// ---- visual query builder ---------------------------------------------------

/** Catalogue lookups change rarely: no safety-net polling. */
const CATALOGUE = { staleTime: 60_000, refetchInterval: false } as const;

export const useQueryTables = (enabled = true) => useQuery({ queryKey: poolsKeys.tables, queryFn: api.queryTables, enabled, ...CATALOGUE });

export const useTableColumns = (table: string | null) =>
  useQuery({
    queryKey: poolsKeys.columns(table ?? ""),
    queryFn: () => api.tableColumns(table as string),
    enabled: table !== null && table !== "",
    retry: false,
    ...CATALOGUE,
  });

// ---- deploying --------------------------------------------------------------

/** What a deploy sends: the batch, after refreshing the pool's accounts when asked. */
export interface DeployPlan {
  request: DeployRequest;
  refreshFirst: boolean;
}

export interface DeployOutcome {
  refreshed: AccountRefresh | null;
  batch: DeployBatch;
}

export function useDeployBots() {
  const client = useQueryClient();
  return useMutation<DeployOutcome, ApiError, DeployPlan>({
    mutationFn: async ({ request, refreshFirst }) => {
      const refreshed = refreshFirst ? await api.refreshAccounts(request.pool) : null;
      return { refreshed, batch: await api.deployBots(request) };
    },
    onSettled: () => {
      // A deploy takes slots (dashboard) and may queue bots (infrastructure).
      for (const key of [poolsKeys.all, dashboardKeys.stats, dashboardKeys.allSlots, infrastructureKeys.queue]) {
        void client.invalidateQueries({ queryKey: key });
      }
    },
  });
}
