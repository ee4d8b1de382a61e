import type { Value } from '../core/graph.js';
import { Tensor } from '../core/tensor.js';
import type { Step } from './plan.js';

/**
 * Profiling, as onnxruntime does it: with `enableProfiling` every step of every run is timed, and
 * `endProfiling()` hands back a Chrome trace (chrome://tracing, Perfetto) with one complete event per
 * node and one per run, so the time spent outside kernels is the run's time minus its nodes'.
 */
export interface TraceEvent {
  cat: 'Session' | 'Node';
  name: string;
  ph: 'X';
  /** Microseconds since the session was created. */
  ts: number;
  dur: number;
  pid: number;
  tid: number;
  args: Record<string, string | number>;
}

export interface NodeTiming {
  node: string;
  opType: string;
  backend: string;
  /** Total milliseconds over all recorded runs, and the number of calls. */
  ms: number;
  calls: number;
  inputShapes: string;
  outputShapes: string;
}

export class Profiler {
  private readonly events: TraceEvent[] = [];
  private readonly origin = performance.now();

  record(step: Step, started: number, ended: number, inputs: readonly (Value | undefined)[], outputs: readonly (Value | undefined)[]): void {
    this.events.push({
      cat: 'Node',
      name: step.info.node.name || step.label,
      ph: 'X',
      ts: this.micros(started),
      dur: Math.max(0, (ended - started) * 1000),
      pid: 1,
      tid: 1,
      args: { op_name: step.opType, provider: step.backend.name, input_type_shape: shapesOf(inputs), output_type_shape: shapesOf(outputs) },
    });
  }

  recordRun(started: number, ended: number): void {
    this.events.push({ cat: 'Session', name: 'model_run', ph: 'X', ts: this.micros(started), dur: (ended - started) * 1000, pid: 1, tid: 1, args: {} });
  }

  recordSession(name: string, started: number, ended: number): void {
    this.events.push({ cat: 'Session', name, ph: 'X', ts: this.micros(started), dur: (ended - started) * 1000, pid: 1, tid: 1, args: {} });
  }

  trace(): TraceEvent[] {
    return [...this.events];
  }

  private micros(at: number): number {
    return (at - this.origin) * 1000;
  }
}

/** Per-node totals from a trace's node events, slowest first. */
export function nodeTimings(trace: readonly TraceEvent[]): NodeTiming[] {
  const byNode = new Map<string, NodeTiming>();
  for (const event of trace) {
    if (event.cat !== 'Node') continue;
    const key = `${event.name}\u0000${event.args['op_name']}`;
    let timing = byNode.get(key);
    if (!timing) {
      timing = {
        node: event.name,
        opType: String(event.args['op_name']),
        backend: String(event.args['provider']),
        ms: 0,
        calls: 0,
        inputShapes: String(event.args['input_type_shape']),
        outputShapes: String(event.args['output_type_shape']),
      };
      byNode.set(key, timing);
    }
    timing.ms += event.dur / 1000;
    timing.calls += 1;
  }
  return [...byNode.values()].sort((a, b) => b.ms - a.ms);
}

export interface OpTypeTiming {
  opType: string;
  backend: string;
  ms: number;
  calls: number;
  nodes: number;
}

/** Totals per op type (and backend), slowest first. */
export function opTypeTimings(nodes: readonly NodeTiming[]): OpTypeTiming[] {
  const byType = new Map<string, OpTypeTiming>();
  for (const node of nodes) {
    const key = `${node.opType}\u0000${node.backend}`;
    const timing = byType.get(key) ?? { opType: node.opType, backend: node.backend, ms: 0, calls: 0, nodes: 0 };
    timing.ms += node.ms;
    timing.calls += node.calls;
    timing.nodes += 1;
    byType.set(key, timing);
  }
  return [...byType.values()].sort((a, b) => b.ms - a.ms);
}

function shapesOf(values: readonly (Value | undefined)[]): string {
  return values
    .map((value) => {
      if (value instanceof Tensor) return `${value.type}[${value.dims.join(',')}]`;
      if (Array.isArray(value)) return `sequence(${value.length})`;
      return value === null ? 'none' : '-';
    })
    .join(' ');
}

export interface ProfileReport {
  runs: number;
  /** Milliseconds per run: the whole run, inside kernels, and outside them (planning nothing, moving values). */
  runMs: number;
  kernelMs: number;
  outsideKernelsMs: number;
  nodes: { node: string; opType: string; backend: string; ms: number; share: number; calls: number; inputShapes: string; outputShapes: string }[];
  opTypes: { opType: string; backend: string; ms: number; share: number; calls: number; nodes: number }[];
}

/** What `edgerun profile` prints, over the last `runs` runs of a trace: per op type, per node, and outside kernels. */
export function profileReport(trace: readonly TraceEvent[], runs: number, top: number): ProfileReport {
  const runEvents = trace.filter((event) => event.name === 'model_run').slice(-runs);
  const from = runEvents[0]?.ts ?? 0;
  const events = trace.filter((event) => event.ts >= from);
  const perRun = (ms: number) => ms / Math.max(1, runEvents.length);
  const runMs = perRun(runEvents.reduce((sum, event) => sum + event.dur / 1000, 0));
  const nodes = nodeTimings(events);
  const kernelMs = perRun(nodes.reduce((sum, node) => sum + node.ms, 0));
  const share = (ms: number) => (runMs > 0 ? ms / runMs : 0);
  return {
    runs: runEvents.length,
    runMs,
    kernelMs,
    outsideKernelsMs: Math.max(0, runMs - kernelMs),
    nodes: nodes.slice(0, top).map((node) => ({ ...node, ms: perRun(node.ms), share: share(perRun(node.ms)), calls: node.calls / Math.max(1, runEvents.length) })),
    opTypes: opTypeTimings(nodes).map((op) => ({ ...op, ms: perRun(op.ms), share: share(perRun(op.ms)), calls: op.calls / Math.max(1, runEvents.length) })),
  };
}
