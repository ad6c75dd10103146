import { DurableObject } from "cloudflare:workers";
import type { AppBindings } from "../env";
import { describeError, log } from "../lib/log";
import { clockTick } from "../services/tournaments/finalise";
import { openDatabase } from "../stores/postgres/client";
import { selectTournaments } from "../stores/postgres/tournaments";

/** After a failed tick the alarm comes back this much later (the cron covers the meantime). */
const RETRY_MS = 60_000;

/**
 * One per tournament: its alarm fires when an instance ends (plus the grace for queued events),
 * finalises it, and sets itself for the next instance's end. The every-minute cron finalises
 * whatever an alarm missed; both may run at once, which the finalisation's primary key absorbs.
 */
export class TournamentClock extends DurableObject<AppBindings> {
  /** Remembers which tournament this is and sets the alarm; returns when it will fire (or null). */
  async arm(tournamentId: string): Promise<number | null> {
    await this.ctx.storage.put("tournamentId", tournamentId);
    return this.tick(Date.now());
  }

  override async alarm(): Promise<void> {
    try {
      await this.tick(Date.now());
    } catch (error) {
      log.warn("tournament-clock: tick failed, retrying later", { error: describeError(error) });
      await this.ctx.storage.setAlarm(Date.now() + RETRY_MS);
    }
  }

  private async tick(now: number): Promise<number | null> {
    const id = await this.ctx.storage.get<string>("tournamentId");
    if (id === undefined) return null;
    const handle = openDatabase(this.env, { maxConnections: 1 });
    try {
      const [tournament] = await selectTournaments(handle.db, [id]);
      if (!tournament) {
        await this.ctx.storage.deleteAll();
        return null;
      }
      const { finalised, nextAt } = await clockTick(handle.db, tournament, now);
      if (finalised?.finalisedNow) log.info("tournament-clock: finalised", { ...finalised });
      if (nextAt === null) await this.ctx.storage.deleteAlarm();
      else await this.ctx.storage.setAlarm(nextAt);
      return nextAt;
    } finally {
      await handle.close();
    }
  }
}
