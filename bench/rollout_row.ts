/**
 * The staged-rollout row of `deno task bench --rollout`: a 3-stage canary (1 %, 10 %,
 * 100 % of the one region, no bake) to the N agents already running, through the real
 * coordinator in a process of its own (coordinator_worker.ts) and the control plane's
 * rollout API. Reported: each stage's overhead (its gates first met, i.e. the ack that
 * completed its share arrived, or the stage's own notice if its share had applied before;
 * → the next pointer's notice arrived: the next stage's, or for the last stage the one that
 * settles the rollout) and the coordinator's CPU per step.
 *
 * Invariant: the agents are the ones the latency rounds measured; the rollout runs after
 * them, on a version published for it, and ends succeeded or the row fails.
 *
 * @module
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { PointerNotice, RolloutRecord } from "@atlas/core";
import { type AtlasNats, recordEnrolment } from "@atlas/store";
import { gatesMetAt, shareSize, stageOverheads, stepCpuSplit } from "./rows.ts";
import { summarize } from "./stats.ts";
import { type CpuProfile, inclusiveMs, selfMsBetween, summarizeProfiles } from "./profile.ts";
import { startCoordinatorProcess } from "./coordinator_process.ts";

/** What the orchestrator (main.ts) lends the row. */
export interface RolloutContext {
  /** The orchestration connection (system user with auth): talks to the coordinator. */
  nc: NatsConnection;
  /** A control-plane connection: enrols the agents and reads the notices. */
  admin: AtlasNats;
  url: string;
  region: string;
  config: string;
  keyFile: string;
  /** Env of the coordinator process (the bench's and the coordinator's credentials). */
  env: Record<string, string>;
  tickMs: number;
  api: <T>(method: string, path: string, body?: unknown) => Promise<T>;
  /** First arrival (wall ms) of each agent's `applied` ack for `version`, from now on. */
  trackAcks: (version: number) => Map<string, number>;
  content: () => string;
  log: (msg: string) => void;
  profileDir: string | undefined;
}

/** p50, p95 and max of a per-step series, ms. */
export interface PerStep {
  p50: number;
  p95: number;
  max: number;
}

/** The row's numbers (JSON field names). */
export interface RolloutResult {
  n: number;
  stages: { percent: number; agents: number; fanOutMs: number; overheadMs: number }[];
  stagesOverheadMs: number;
  totalMs: number;
  tickMs: number;
  steps: number;
  /**
   * `process.cpuUsage()` around each step, the follows' work during it included, less what
   * the ack check threads did meanwhile (beside the step, in `coordinatorAckCheckCpuMsPerStep`).
   */
  coordinatorCpuMsPerStep: PerStep;
  /** The ack check threads' CPU during each step (coordinator/ack_checks.ts). */
  coordinatorAckCheckCpuMsPerStep?: PerStep;
  /** The ack check threads' CPU over the whole rollout, and how many checks they answered. */
  coordinatorAckCheckCpuMs?: number;
  coordinatorAckChecks?: number;
  /** Of it, the time inside the follows' onMessage (acks, agent records), counted. */
  coordinatorFollowCpuMsPerStep: PerStep;
  /** The steps' own: each step's CPU less its follows' (NATS client and GC included). */
  coordinatorStepOwnCpuMsPerStep: PerStep;
  /**
   * The same on the JavaScript thread alone (Linux), where it was measured: without the
   * collector's and compiler's helper threads, which run beside a step.
   */
  coordinatorStepOwnMainThreadCpuMsPerStep?: PerStep;
  /**
   * The largest step (with its follows) by kind of thread, µs (bench/proc_cpu.ts, Linux):
   * the JS thread, V8's helpers, the runtime's I/O threads, the ack check threads.
   */
  coordinatorLargestStepByThreadMicros?: Record<string, number>;
  coordinatorCpuMsOutsideSteps: number;
  /** Time inside the follows' onMessage over the whole rollout, in steps or not, counted. */
  coordinatorFollowCpuMs: number;
}

const PERCENTS = [1, 10, 100];

/** Runs the rollout row at `n` agents whose ack keys are `publicKeys` (agent → key). */
export async function rolloutRow(
  ctx: RolloutContext,
  n: number,
  publicKeys: Record<string, string>,
): Promise<RolloutResult> {
  const { region, config } = ctx;
  // Only enrolled agents' acks count with a coordinator.
  const entries = Object.entries(publicKeys);
  for (let i = 0; i < entries.length; i += 50) {
    await Promise.all(
      entries.slice(i, i + 50).map(([agent, publicKey]) =>
        recordEnrolment(ctx.admin, { region, agent, publicKey })
      ),
    );
  }
  const coordinator = await startCoordinatorProcess(ctx);
  const tell = coordinator.tell;
  try {
    // The leader as it runs in production: leading, its enrolments known, the acks and
    // agent records followed (at 10 000 a new leader reads records and enrolments one by one
    // for seconds, and the first rollout's steps paid for it).
    const t0 = Date.now();
    for (let ready = false; !ready;) {
      if (Date.now() - t0 > 120_000) throw new Error("the coordinator did not follow in 120 s");
      await new Promise((r) => setTimeout(r, ctx.tickMs));
      const s = await tell("steps", { since: Date.now() });
      ready = s.leader === true && s.following === true;
    }
    ctx.log(`N=${n}: the coordinator leads and follows after ${Date.now() - t0} ms`);
    await new Promise((r) => setTimeout(r, 2 * ctx.tickMs)); // a step or two from memory

    const v = await ctx.api<{ version: number }>("POST", `/v1/configs/${config}/versions`, {
      content: ctx.content(),
    });
    const arrivals = ctx.trackAcks(v.version);
    const notices: { at: number; pointer: PointerNotice["pointer"] }[] = [];
    const sub = ctx.admin.nc.subscribe(`atlas.notify.${region}.${config}`, {
      callback: (_e, m) => {
        notices.push({ at: Date.now(), pointer: (m.json() as PointerNotice).pointer });
      },
    });
    await ctx.admin.nc.flush();
    // Profiled only when asked (a profile slows the steps it measures); the follows' part
    // of each step is counted by the coordinator itself.
    if (ctx.profileDir) await tell("profile-start");
    let largestSteps: ((s: { at: number; wallMs: number }, own: number) => string) | undefined;
    const { cpuMicros: cpuAtStart, followMs: followAtStart, ackChecks: ackChecksAtStart } =
      await tell("steps", { since: Date.now() });
    const started = Date.now();
    const rollout = await ctx.api<RolloutRecord>("POST", `/v1/configs/${config}/rollouts`, {
      version: v.version,
      stages: PERCENTS.map((percent) => ({ regions: [region], percent, bakeSeconds: 0 })),
    });
    let record = rollout;
    for (let i = 0; record.state !== "succeeded"; i++) {
      if (record.state !== "running" && record.state !== "pending") {
        throw new Error(
          `rollout ${record.id} ended ${record.state}: ${record.transitions.at(-1)?.reason}`,
        );
      }
      if (i > 6_000) throw new Error(`rollout ${record.id} did not end within 10 min`);
      await new Promise((r) => setTimeout(r, 100));
      record = await ctx.api<RolloutRecord>("GET", `/v1/rollouts/${rollout.id}`);
    }
    const ended = Date.now();
    await new Promise((r) => setTimeout(r, 500)); // the settling pointer's notice
    sub.unsubscribe();
    const stepsAnswer = await tell("steps", { since: started });
    if (ctx.profileDir) {
      const file = `${ctx.profileDir}/coordinator-n${n}.cpuprofile`;
      await tell("profile-stop", { file });
      const profile = JSON.parse(await Deno.readTextFile(file)) as CpuProfile;
      // Where the CPU went, for insight: the follows (per message) and the steps' functions.
      const follows = inclusiveMs(profile, (f) => f.url.endsWith("coordinator/follow.ts"));
      const { functions } = summarizeProfiles([profile], 12);
      ctx.log(
        `coordinator at N=${n}: ${follows.busyMs.toFixed(0)} ms busy, ${
          follows.ms.toFixed(0)
        } ms of it following acks and agent records (profile); self time by function:`,
      );
      for (const [fn, where, share] of functions) ctx.log(`  ${share}  ${fn}  ${where}`);
      largestSteps = (s, own) =>
        selfMsBetween(profile, s.at, s.at + s.wallMs).map(([f, ms]) => `${f} ${ms.toFixed(1)}`)
          .join("; ") + ` (own ${own.toFixed(1)} ms)`;
    }
    const steps = (stepsAnswer.steps as {
      at: number;
      wallMs: number;
      cpuMicros: number;
      followMs: number;
      mainCpuMicros?: number;
      ackCheckMicros?: number;
      threadMicros?: Record<string, number>;
    }[]).filter((s) => s.at <= ended);
    const split = stepCpuSplit(steps);
    type Checks = { cpuMicros: number; answered: number };
    const checks = stepsAnswer.ackChecks as Checks | undefined;
    const checksAtStart = (ackChecksAtStart as Checks | undefined) ?? { cpuMicros: 0, answered: 0 };
    if (largestSteps) {
      // Where the three largest steps went, by the samples taken during each.
      const sorted = steps.map((s, i) => ({ s, own: split.ownMs[i]! }))
        .sort((a, b) => b.own - a.own).slice(0, 3);
      for (const { s, own } of sorted) ctx.log(`  largest step, self ms: ${largestSteps(s, own)}`);
    }
    const largest = steps.map((s, i) => ({ s, total: split.totalMs[i]! }))
      .sort((a, b) => b.total - a.total)[0]?.s;
    const inSteps = steps.reduce((sum, s) => sum + s.cpuMicros, 0);
    const cpuTotal = (stepsAnswer.cpuMicros as number) - (cpuAtStart as number);
    const followTotal = (stepsAnswer.followMs as number) - (followAtStart as number);

    // When each stage's share had applied: the k-th distinct agent's first applied ack.
    const sorted = [...arrivals.values()].sort((a, b) => a - b);
    const sizes = PERCENTS.map((p) => shareSize(p, n));
    const ours = notices.filter((x) => x.pointer.candidate?.rolloutId === rollout.id);
    const stageNotice = PERCENTS.map((p) =>
      ours.find((x) => x.pointer.candidate!.selector.percent === p)?.at
    );
    const gatesMet = gatesMetAt(sorted, sizes, stageNotice);
    const settled = notices.find((x) =>
      x.at >= (stageNotice.at(-1) ?? started) && !x.pointer.candidate &&
      x.pointer.active.version === v.version
    )?.at;
    const overheads = stageOverheads(gatesMet, [...stageNotice.slice(1), settled]);
    const round1 = (x: number) => +x.toFixed(1);
    const perStep = (xs: number[]): PerStep => {
      const s = summarize(xs);
      return { p50: round1(s.p50), p95: round1(s.p95), max: round1(s.max) };
    };
    return {
      n,
      stages: PERCENTS.map((percent, k) => ({
        percent,
        agents: sizes[k]!,
        fanOutMs: round1((gatesMet[k] ?? NaN) - (stageNotice[k] ?? NaN)),
        overheadMs: round1(overheads[k]!),
      })),
      stagesOverheadMs: round1(overheads.reduce((a, b) => a + b, 0)),
      totalMs: ended - started,
      tickMs: ctx.tickMs,
      steps: steps.length,
      coordinatorCpuMsPerStep: perStep(split.totalMs),
      ...(checks
        ? {
          coordinatorAckCheckCpuMsPerStep: perStep(
            steps.map((s) => (s.ackCheckMicros ?? 0) / 1000),
          ),
          coordinatorAckCheckCpuMs: round1((checks.cpuMicros - checksAtStart.cpuMicros) / 1000),
          coordinatorAckChecks: checks.answered - checksAtStart.answered,
        }
        : {}),
      coordinatorFollowCpuMsPerStep: perStep(split.followMs),
      coordinatorStepOwnCpuMsPerStep: perStep(split.ownMs),
      ...(steps.length > 0 && steps.every((s) => s.mainCpuMicros !== undefined)
        ? {
          coordinatorStepOwnMainThreadCpuMsPerStep: perStep(
            stepCpuSplit(steps.map((s) => ({ cpuMicros: s.mainCpuMicros!, followMs: s.followMs })))
              .ownMs,
          ),
        }
        : {}),
      ...(largest?.threadMicros
        ? { coordinatorLargestStepByThreadMicros: largest.threadMicros }
        : {}),
      coordinatorCpuMsOutsideSteps: round1((cpuTotal - inSteps) / 1000),
      coordinatorFollowCpuMs: round1(followTotal),
    };
  } finally {
    await coordinator.close();
  }
}
