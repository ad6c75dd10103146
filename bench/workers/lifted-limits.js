// Every Rate Limiting binding of the benchmarked worker, lifted: an RPC that always allows
// (bench/lib/workerd.ts says why the benchmarks lift them).
import { WorkerEntrypoint } from "cloudflare:workers";
export class Limiter extends WorkerEntrypoint {
  async limit() {
    return { success: true };
  }
}
export default { fetch: () => new Response("every limit lifted") };
