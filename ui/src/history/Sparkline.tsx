// A small line of one series (the dashboard's last hour), no axes: its
// `label` says what it shows in words for assistive technology.
import { linear } from "./scale";
import { LinePath } from "@visx/shape";
import type { Values } from "./series";
import { useWidth } from "./useWidth";

const HEIGHT = 30;

export function Sparkline({ values, color, label, testId }: { values: Values; color: string; label: string; testId: string }) {
  const { ref, width } = useWidth<HTMLDivElement>(180);
  const x = linear([0, Math.max(1, values.length - 1)], [1, width - 1]);
  const y = linear([0, Math.max(1, ...values.map((v) => v ?? 0))], [HEIGHT - 2, 2]);
  const data = values.map((v, i) => ({ v, i }));
  return (
    <div ref={ref} className="w-full">
      <svg
        width={width}
        height={HEIGHT}
        role="img"
        aria-label={label}
        data-testid={testId}
        data-points={values.filter((v) => v !== null).length}
        className="block"
      >
        <line x1={0} x2={width} y1={HEIGHT - 1} y2={HEIGHT - 1} style={{ stroke: "var(--color-line)" }} />
        <LinePath
          data={data}
          x={(d) => x(d.i)}
          y={(d) => y(d.v ?? 0)}
          defined={(d) => d.v !== null}
          strokeWidth={1.5}
          fill="none"
          style={{ stroke: color }}
        />
      </svg>
    </div>
  );
}
