import { sql } from "drizzle-orm";

/**
 * When a statement's counts were taken: its start time in epoch microseconds, from the database's
 * one clock, so counts read by different consumers and rebuilds order correctly (CountedTotal.at).
 */
export const COUNTED_AT = sql`(extract(epoch from statement_timestamp()) * 1000000)::bigint`;
