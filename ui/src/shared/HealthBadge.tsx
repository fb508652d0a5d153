import type { PlatformHealth } from "../api/types";

const TONE: Record<PlatformHealth, string> = {
  healthy: "text-idle bg-idle/10 border-idle/30",
  degraded: "text-busy bg-busy/10 border-busy/30",
  down: "text-error bg-error/10 border-error/40",
  unknown: "text-muted bg-tint/5 border-line",
};

export function HealthBadge({ health }: { health: PlatformHealth }) {
  return (
    <span className={`badge ${TONE[health]}`} data-health={health}>
      <span aria-hidden className={`size-1.5 rounded-full ${health === "healthy" ? "bg-idle" : health === "degraded" ? "bg-busy" : health === "down" ? "bg-error" : "bg-muted"}`} />
      {health.toUpperCase()}
    </span>
  );
}
