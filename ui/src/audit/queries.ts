// The audit log's queries: the operator actions recorded (who, when, what,
// on what, why), newest first. Any action announces the `audit` topic.
import { useQuery } from "@tanstack/react-query";
import type { Invalidations } from "../api/invalidation";
import { api } from "../api/tauri";
import type { AuditQuery } from "../bindings";

export const auditKeys = {
  /** Every audit list (their common prefix). */
  all: ["audit"] as const,
  list: (query: AuditQuery) => ["audit", query] as const,
};

export const auditInvalidations: Invalidations = {
  audit: [auditKeys.all],
};

export const useAuditLog = (query: AuditQuery) => useQuery({ queryKey: auditKeys.list(query), queryFn: () => api.auditLog(query) });
