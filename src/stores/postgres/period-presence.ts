import { sql } from "drizzle-orm";
import { boardPeriodKey, type PeriodKind, periodKeysFor } from "../../domain";
import { BoundedMap } from "../../lib/bounded-map";
import { describeError, log } from "../../lib/log";
import type { Database } from "./client";
import type { Board } from "./schema";

/**
 * Whether a past board-period has any record, remembered per isolate: a read of a past period
 * with no record is answered empty without asking its Durable Object, which would otherwise be
 * created (and rebuilt, and kept) for nothing. Positive answers hold for long (a period with
 * records keeps them); negative ones briefly, since a late event may still land in a period that
 * ended within the acceptance window. Plain data only, bounded, oldest evicted first.
 */
const HELD_MS = 600_000;
const EMPTY_MS = 10_000;
const known = new BoundedMap<string, { has: boolean; until: number }>(2_000);

const remember = (key: string, has: boolean, now: number) =>
  known.set(key, { has, until: now + (has ? HELD_MS : EMPTY_MS) });

/**
 * False only when Postgres says the board-period holds no record. The board's current periods
 * (and the all-time one) are always assumed to: their objects exist to take writes anyway. If
 * Postgres cannot be asked, the read goes ahead to the object: this check only saves work, so
 * its failure must not fail the read.
 */
export async function periodMayHoldRecords(
  db: () => Database,
  board: Board,
  periodKey: string,
  now = Date.now(),
): Promise<boolean> {
  // Most reads are of the current period: one map lookup, the calendar worked out once a while.
  const key = boardPeriodKey(board.id, periodKey);
  const cached = known.get(key);
  if (cached && cached.until > now) return cached.has;
  const config = {
    periods: board.periods as PeriodKind[],
    timeZone: board.timeZone,
    weekStart: board.weekStart,
  };
  if (periodKeysFor(config, new Date(now)).some((p) => p.key === periodKey)) {
    remember(key, true, now);
    return true;
  }
  try {
    const result = await db().execute<{ has: boolean }>(
      sql`select exists (select 1 from score_buckets
        where board_id = ${board.id} and period_key = ${periodKey} and records > 0) as has`,
    );
    const has = result.rows[0]?.has === true;
    remember(key, has, now);
    return has;
  } catch (error) {
    log.warn("reads: could not tell whether a past period has records; asking its object", {
      error: describeError(error),
    });
    return true;
  }
}
