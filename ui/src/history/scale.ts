// Linear and time scales for the history charts, on d3-array's tick and
// nice-domain algorithms and d3-time's calendar ticks. Not d3-scale: it
// pulls in d3-color, whose prototype set-up (`prototype.constructor = …`)
// throws under the desktop's frozen `Object.prototype` (Tauri's
// `freezePrototype`), and that blanked the whole window at start-up.
import { nice, ticks } from "d3-array";
import { timeTicks } from "d3-time";

/** A linear map from `domain` to `range` with its ticks. */
export interface Linear {
  (value: number): number;
  ticks(count: number): number[];
  domain(): [number, number];
  range(): [number, number];
}

/** A linear scale; `niced` widens the domain to round tick values. */
export function linear(domain: [number, number], range: [number, number], niced = false): Linear {
  const [d0, d1] = niced ? (nice(domain[0], domain[1], 10) as [number, number]) : domain;
  const [r0, r1] = range;
  const span = d1 - d0 || 1;
  const scale = ((v: number) => r0 + ((v - d0) / span) * (r1 - r0)) as Linear;
  scale.ticks = (count) => ticks(d0, d1, count);
  scale.domain = () => [d0, d1];
  scale.range = () => [r0, r1];
  return scale;
}

/** A time scale: dates to positions, with calendar-aligned ticks. */
export interface Time {
  (date: Date): number;
  ticks(count: number): Date[];
}

export function time(domain: [Date, Date], range: [number, number]): Time {
  const [start, end] = domain;
  const toX = linear([start.getTime(), end.getTime()], range);
  const scale = ((d: Date) => toX(d.getTime())) as Time;
  scale.ticks = (count) => timeTicks(start, end, count);
  return scale;
}
