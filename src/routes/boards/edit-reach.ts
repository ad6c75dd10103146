import { BOARD_EDIT_REACH_MS } from "../../stores/cache/boards-edge";

/** How far an edit reaches and when, for the admin routes' descriptions (one wording for both). */
export const BOARD_EDIT_REACH =
  "The server that answers applies the change at once; every other server within " +
  `${Math.ceil(BOARD_EDIT_REACH_MS / 1000)} s (each keeps a copy of the board that long), ` +
  "later only while Postgres is unreachable.";
