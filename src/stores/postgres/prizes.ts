import { sql } from "drizzle-orm";
import type { Database } from "./client";

export interface PrizeRow {
  id: number;
  tournamentId: string;
  instanceKey: string;
  playerId: string;
  rank: number;
  reward: unknown;
  awardedAt: string;
  claimedAt: string | null;
}

type RawPrize = {
  id: string;
  tournament_id: string;
  instance_key: string;
  player_id: string;
  rank: number;
  reward: unknown;
  awarded_at: string;
  claimed_at: string | null;
};

const toPrize = (r: RawPrize): PrizeRow => ({
  id: Number(r.id),
  tournamentId: r.tournament_id,
  instanceKey: r.instance_key,
  playerId: r.player_id,
  rank: r.rank,
  reward: r.reward,
  awardedAt: new Date(r.awarded_at).toISOString(),
  claimedAt: r.claimed_at === null ? null : new Date(r.claimed_at).toISOString(),
});

/**
 * A player's prizes by id after `afterId`: pending ones from the partial index on unclaimed
 * prizes (prizes_pending_idx), claimed ones from prizes_player_idx.
 */
export async function selectPrizes(
  db: Database,
  playerId: string,
  status: "pending" | "claimed",
  afterId: number,
  limit: number,
): Promise<PrizeRow[]> {
  const claimed = status === "pending" ? sql`claimed_at is null` : sql`claimed_at is not null`;
  const result = await db.execute<RawPrize>(sql`
    select * from prizes where player_id = ${playerId} and ${claimed} and id > ${afterId}
    order by id limit ${limit}`);
  return result.rows.map(toPrize);
}

/**
 * Claims a prize, idempotently: claimed_at is set by the first claim and kept by every later one,
 * which answers the same claimed prize. Null when the player has no such prize.
 */
export async function claimPrize(
  db: Database,
  playerId: string,
  prizeId: number,
): Promise<{ prize: PrizeRow; claimedNow: boolean } | null> {
  const result = await db.execute<RawPrize & { claimed_now: boolean }>(sql`
    with claimed as (
      update prizes set claimed_at = now()
      where id = ${prizeId} and player_id = ${playerId} and claimed_at is null
      returning *
    )
    select *, true as claimed_now from claimed
    union all
    select *, false from prizes
    where id = ${prizeId} and player_id = ${playerId} and not exists (select 1 from claimed)`);
  const row = result.rows[0];
  return row ? { prize: toPrize(row), claimedNow: row.claimed_now } : null;
}
