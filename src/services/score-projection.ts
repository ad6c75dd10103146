import type { AppBindings } from "../env";
import type { ScoreChange } from "../queue/persist-batch";

/**
 * The seam between the system of record and its projections: called by the consumer after the
 * batch committed, with the final state of every record the batch named. The serving issue fills
 * it with one Durable Object call per board-period and one Redis pipeline per batch. It must be
 * safe to call twice with the same changes (redelivery re-projects the same final states).
 */
export async function projectScoreChanges(_env: AppBindings, _changes: ScoreChange[]): Promise<void> {
  // No projections yet: Postgres is the only store read by the API at this stage.
}
