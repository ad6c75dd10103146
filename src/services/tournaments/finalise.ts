import { instanceAt, instanceByKey, lastEndedInstance, nextInstance } from "../../domain";
import { ApiError } from "../../lib/errors";
import type { Database } from "../../stores/postgres/client";
import type { Tournament } from "../../stores/postgres/schema";
import {
  type FinaliseResult,
  finalisedKeys,
  finaliseStandings,
} from "../../stores/postgres/standings";
import { selectFinalisable } from "../../stores/postgres/tournaments";
import { timesOf } from "./definitions";

/**
 * How long after an instance's end the alarm and the cron finalise it: events accepted just
 * before the end are still in the queue for a few seconds, and once the instance is finalised the
 * consumer drops them. An operator's finalize call does not wait. Board periods with prizes wait
 * as long (services/board-prizes.ts).
 */
export const FINALISE_GRACE_MS = 30_000;

/** How far back the cron looks for a tournament whose last instance was never finalised. */
const CRON_LOOKBACK_MS = 7 * 86_400_000;
/** Tournaments the cron examines per run. */
const CRON_BATCH = 500;

export type Finalised = FinaliseResult & { tournamentId: string; instanceKey: string };

/** Finalises one ended instance (the last ended one by default); idempotent. */
export async function finaliseInstance(
  db: Database,
  t: Tournament,
  instanceKey: string | undefined,
  now: number,
): Promise<Finalised> {
  const times = timesOf(t);
  const instance =
    instanceKey === undefined ? lastEndedInstance(times, now) : instanceByKey(times, instanceKey);
  if (!instance)
    throw new ApiError(
      instanceKey === undefined ? "CONFLICT" : "NOT_FOUND",
      instanceKey === undefined
        ? `Tournament "${t.id}" has no ended instance yet`
        : `Tournament "${t.id}" has no instance "${instanceKey}"`,
    );
  if (instance.end.getTime() > now)
    throw new ApiError(
      "CONFLICT",
      `Instance ${instance.key} of "${t.id}" ends at ${instance.end.toISOString()}: ` +
        "it can be finalised from then on",
    );
  const result = await finaliseStandings(
    db,
    { tournamentId: t.id, instanceKey: instance.key, boardId: t.boardId },
    t.prizes,
  );
  return { ...result, tournamentId: t.id, instanceKey: instance.key };
}

/**
 * The clock's tick: finalises the tournament's last instance once its grace has passed, and says
 * when to tick next (the end plus grace of the instance running or next to run; null: none left).
 */
export async function clockTick(
  db: Database,
  t: Tournament,
  now: number,
): Promise<{ finalised: Finalised | null; nextAt: number | null }> {
  const times = timesOf(t);
  const ended = lastEndedInstance(times, now - FINALISE_GRACE_MS);
  let finalised: Finalised | null = null;
  if (ended) {
    const done = await finalisedKeys(db, [{ tournamentId: t.id, instanceKey: ended.key }]);
    if (!done.has(`${t.id}/${ended.key}`))
      finalised = await finaliseInstance(db, t, ended.key, now);
  }
  // An instance that ended within the grace is still to finalise; else the running or next one.
  const pending = lastEndedInstance(times, now);
  const upcoming =
    pending && pending.key !== ended?.key
      ? pending
      : (instanceAt(times, now) ?? nextInstance(times, now));
  return { finalised, nextAt: upcoming ? upcoming.end.getTime() + FINALISE_GRACE_MS : null };
}

/**
 * The cron's safety net: every tournament's last ended instance that is past its grace and not
 * finalised is finalised now (an alarm that did not fire, or fired and failed). Racing an alarm is
 * harmless: the finalisation row is inserted once.
 */
export async function finaliseDue(
  db: Database,
  now: number,
): Promise<{ examined: number; finalised: number; keys: string[] }> {
  const rows = await selectFinalisable(
    db,
    new Date(now),
    new Date(now - CRON_LOOKBACK_MS),
    CRON_BATCH,
  );
  const due = rows.flatMap((t) => {
    const instance = lastEndedInstance(timesOf(t), now - FINALISE_GRACE_MS);
    return instance ? [{ t, instanceKey: instance.key }] : [];
  });
  const done = await finalisedKeys(
    db,
    due.map((d) => ({ tournamentId: d.t.id, instanceKey: d.instanceKey })),
  );
  const keys: string[] = [];
  for (const { t, instanceKey } of due) {
    if (done.has(`${t.id}/${instanceKey}`)) continue;
    const result = await finaliseInstance(db, t, instanceKey, now);
    if (result.finalisedNow) keys.push(`${t.id}/${instanceKey}`);
  }
  return { examined: rows.length, finalised: keys.length, keys };
}
