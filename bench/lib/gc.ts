import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/**
 * A full collection of this process's heap. The load generator shares the server's two cores and
 * measures latency from each request's scheduled start, so a major GC of its own garbage (seeding
 * a 1,000,000-player board leaves plenty) in the middle of a run would be counted as the
 * server's latency. Called between runs, never inside one.
 */
export const collectGarbage: () => void = (() => {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
})();
